"""The Elasticsearch sink: create-only writes, 409 as 'already there', open alerts read back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mlmon_elk.checks.result import CheckResult, WindowResult
from mlmon_elk.contract import Check, Dataset, Role, Status, Transition, stream_name
from mlmon_elk.errors import SinkError
from mlmon_elk.results.alerts import AlertEvent, AlertKey, OpenAlert
from mlmon_elk.results.documents import Document, alert_document, check_document, run_document
from mlmon_elk.results.run_summary import RunSummary
from mlmon_elk.retry import Retry
from mlmon_elk.sinks.elasticsearch import ElasticsearchSink
from mlmon_elk.windows import Window
from tests.conftest import EsTarget
from tests.proxy import TcpProxy, connect_via

START = datetime(2024, 5, 1, 12, tzinfo=UTC)
STEP = timedelta(minutes=5)


def window(i: int) -> WindowResult:
    return WindowResult("credit", "1.0", START + STEP * i, START + STEP * (i + 1), 300, ())


def result(status: Status, feature: str = "age") -> CheckResult:
    return CheckResult(
        Check.NUMERIC_DRIFT, status, "psi", value=0.3, feature=feature, role=Role.INPUT
    )


def alert(
    i: int, transition: Transition, feature: str = "age", severity: Status = Status.WARNING
) -> Document:
    w = window(i)
    r = result(Status.OK if transition is Transition.RESOLVED else severity, feature)
    key = AlertKey.of(w, r)
    return alert_document(AlertEvent(key, transition, w, r, severity), "x")


def run(i: int, *, ok: bool = True, models: tuple[str, ...] = ("credit",)) -> Document:
    """The run summary of window ``i``, successful or failed."""
    w = window(i)
    errors = () if ok else ("credit: cannot read baseline",)
    summary = RunSummary(Window(w.start, w.end), w.end, w.end + STEP / 10, models, errors=errors)
    return run_document(summary, "x")


def runs() -> list[Document]:
    """Window 1 is the newest one analysed successfully for ``credit``, window 3 for ``other``."""
    return [run(0), run(1), run(2, ok=False), run(3, models=("other",)), run(4, ok=False)]


def count(es: EsTarget, dataset: Dataset) -> int:
    index = stream_name(dataset, es.namespace)
    es.client.indices.refresh(index=index)
    return int(es.client.count(index=index)["count"])


def test_writing_the_same_documents_twice_writes_nothing_new(es: EsTarget) -> None:
    """The second create of each id is a 409, counted as existing, not an error."""
    sink = ElasticsearchSink(es.client, es.namespace)
    docs = [check_document(window(0), result(Status.OK, f), es.namespace) for f in ("a", "b", "c")]
    docs.append(alert(0, Transition.NEW))
    first = sink.write(docs)
    second = sink.write(docs)
    assert (first.written, first.existing) == (4, 0)
    assert (second.written, second.existing) == (0, 4)
    assert count(es, Dataset.CHECK) == 3
    assert count(es, Dataset.ALERT) == 1


def test_open_alerts_come_from_the_latest_alert_document_per_key(es: EsTarget) -> None:
    """age: new then ongoing (open, critical); income: new then resolved (closed)."""
    sink = ElasticsearchSink(es.client, es.namespace)
    sink.write(
        [
            alert(0, Transition.NEW),
            alert(1, Transition.ONGOING, severity=Status.CRITICAL),
            alert(0, Transition.NEW, "income"),
            alert(1, Transition.RESOLVED, "income"),
            alert(3, Transition.RESOLVED),  # after the window asked about
        ]
    )
    es.client.indices.refresh(index=stream_name(Dataset.ALERT, es.namespace))
    before = START + STEP * 3
    open_alerts = sink.open_alerts(["credit"], before=before, since=START)
    assert open_alerts == {
        AlertKey("credit", "1.0", "numeric_drift", "input", "age"): OpenAlert(Status.CRITICAL)
    }
    assert sink.open_alerts(["other"], before=before, since=START) == {}
    # Outside the lookback the alert is forgotten.
    late = START + STEP * 2 + timedelta(seconds=1)
    assert sink.open_alerts(["credit"], before=before, since=late) == {}


def test_no_alert_stream_yet_means_no_open_alerts(es: EsTarget) -> None:
    """A fresh cluster answers with nothing open rather than an error."""
    sink = ElasticsearchSink(es.client, es.namespace)
    assert sink.open_alerts(["credit"], before=START, since=START - STEP) == {}


def test_the_last_successful_run_is_read_from_the_run_summaries(es: EsTarget) -> None:
    """Failed runs and runs of other models do not count; nor do runs before ``since``."""
    sink = ElasticsearchSink(es.client, es.namespace)
    assert sink.last_success(["credit"], since=START) is None  # no stream yet
    sink.write(runs())
    es.client.indices.refresh(index=stream_name(Dataset.CHECK, es.namespace))
    assert sink.last_success(["credit"], since=START) == START + STEP * 2
    assert sink.last_success(["credit"]) == START + STEP * 2
    assert sink.last_success(["other", "credit"], since=START) == START + STEP * 4
    assert sink.last_success(["credit"], since=START + STEP * 2 + timedelta(seconds=1)) is None
    assert sink.last_success([], since=START) is None


def test_rejected_documents_fail_with_the_reason(es: EsTarget) -> None:
    """A document the mapping refuses is a SinkError naming index and reason."""
    bad = check_document(window(0), result(Status.OK), es.namespace)
    bad.source["mlmon"]["value"] = "not a number"
    with pytest.raises(
        SinkError,
        match=r"1 of 1 documents were rejected; first: (\.ds-)?logs-mlmon\.check-"
        r".*(parsing|failure store)",
    ):
        ElasticsearchSink(es.client, es.namespace).write([bad])


def test_unreachable_cluster_is_a_sink_error_after_retries(es: EsTarget) -> None:
    """With the server gone, the write retries, then fails clearly."""
    proxy = TcpProxy(es.url).start()
    client = connect_via(es, proxy.url)
    proxy.stop()
    waits: list[float] = []
    sink = ElasticsearchSink(client, es.namespace, retry=Retry(2, 0.01, 0.01), sleep=waits.append)
    with pytest.raises(SinkError, match="failed after 2 tries: cannot reach Elasticsearch"):
        sink.write([alert(0, Transition.NEW)])
    assert len(waits) == 1
    client.close()
