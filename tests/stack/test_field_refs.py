"""Every field Kibana's shipped assets query exists in the engine's real mappings."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mlmon_elk import log_outcome
from mlmon_elk.analyzer.config import config_from_dict
from mlmon_elk.analyzer.run import Analyzer
from mlmon_elk.contract import Dataset, stream_name
from mlmon_elk.producer.handler import PredictionHandler
from mlmon_elk.stack import kibana_assets
from mlmon_elk.stack.assets import asset_dir
from mlmon_elk.stack.field_refs import FieldRef, esql_fields, field_references, kql_fields
from mlmon_elk.windows import Window
from tests import scenario
from tests.conftest import EsTarget
from tests.factories import index_documents


def shipped_references() -> list[FieldRef]:
    directory = asset_dir("kibana_dashboards")
    return field_references(
        kibana_assets.load_saved_objects(directory), kibana_assets.load_rules(directory)
    )


def problems(refs: list[FieldRef], caps: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Each reference to a field the mappings lack, or do not aggregate where it must."""
    found = []
    for ref in refs:
        types = caps.get(ref.pattern, {}).get(ref.field)
        if not types:
            found.append(f"{ref.asset}: {ref.field} is not mapped in {ref.pattern}")
        elif ref.aggregated and not all(t["aggregatable"] for t in types.values()):
            found.append(f"{ref.asset}: {ref.field} is not aggregatable ({', '.join(types)})")
    return found


def test_kql_and_esql_field_names_are_read_out_of_the_text() -> None:
    """Quoted values are no fields; EVAL/STATS names resolve to the fields behind them."""
    assert kql_fields('event.dataset : "a : b" and mlmon.status : ("x" or "y")') == {
        "event.dataset",
        "mlmon.status",
    }
    pattern, filtered, aggregated = esql_fields(
        'FROM logs-x-*\n| WHERE a.b == "c: d" AND e IS NOT NULL\n| EVAL m = f.g\n'
        "| STATS p = PERCENTILE(e, 95), n = COUNT(*) BY m\n| WHERE n > 3 AND p > 1 | SORT p"
    )
    assert (pattern, filtered, aggregated) == ("logs-x-*", {"a.b"}, {"e", "f.g"})


def test_a_wrongly_named_field_is_reported() -> None:
    """The check can fail: a Lens column on a field the mappings lack, or one not aggregatable."""
    refs = [
        FieldRef("panel", "logs-p-*", "mlmon.latency_msec", aggregated=True),
        FieldRef("panel", "logs-p-*", "message", aggregated=True),
        FieldRef("panel", "logs-p-*", "mlmon.latency_ms", aggregated=True),
    ]
    caps = {
        "logs-p-*": {
            "mlmon.latency_ms": {"float": {"aggregatable": True}},
            "message": {"text": {"aggregatable": False}},
        }
    }
    assert problems(refs, caps) == [
        "panel: mlmon.latency_msec is not mapped in logs-p-*",
        "panel: message is not aggregatable (text)",
    ]


def test_every_field_the_kibana_assets_reference_is_mapped_on_the_engine(
    es: EsTarget, tmp_path: Path
) -> None:
    """Handler documents and analyzer results indexed, then `_field_caps` of each stream
    holds every referenced field, aggregatable where a panel or rule aggregates it."""
    log = tmp_path / "predictions.jsonl"
    handler = PredictionHandler(
        f"file://{log}",
        model=scenario.MODEL,
        model_version=scenario.VERSION,
        text_inputs=["note"],
        spool_dir=None,
        namespace=es.namespace,
    )
    try:
        scenario.log_window(handler, 0)
        scenario.log_window(handler, 1, injected=True)
        log_outcome(handler, prediction_id="p-1", outcome=1, score=0.8, predicted=1)
        log_outcome(handler, prediction_id="p-2", outcome=2.5, predicted=1.5)
    finally:
        handler.close()
    docs = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    for dataset in (Dataset.PREDICTION, Dataset.OUTCOME):
        index_documents(
            es.client,
            stream_name(dataset, es.namespace),
            [d for d in docs if d["data_stream"]["dataset"] == dataset],
        )
    _, baseline_path = scenario.build(tmp_path)
    config = config_from_dict(
        {
            "namespace": es.namespace,
            "elasticsearch": {"hosts": [es.url]},
            "schedule": {"interval": "10m", "window": "10m", "delay": "1m"},
            "models": [{"name": scenario.MODEL, "baselines": [str(baseline_path)]}],
        }
    )
    analyzer = Analyzer.from_config(config, client=es.client)
    for i in range(2):
        outcome = analyzer.run(Window(scenario.window_start(i), scenario.window_start(i + 1)))
        assert outcome.summary.ok, outcome.summary.errors
    assert outcome.alerts  # the alert stream has documents too

    refs = shipped_references()
    caps = {}
    for pattern in {r.pattern for r in refs}:
        index = pattern.replace("*", es.namespace)
        es.client.indices.refresh(index=index)
        # The 8.x client sends `fields` in the body, which OpenSearch ignores: a query string.
        caps[pattern] = es.client.perform_request(
            "GET", f"/{index}/_field_caps?fields=*", headers={"accept": "application/json"}
        ).body["fields"]
    assert {r.pattern for r in refs} == {
        "logs-mlmon.prediction-*",
        "logs-mlmon.outcome-*",
        "logs-mlmon.check-*",
        "logs-mlmon.alert-*",
    }
    assert len(refs) > 50
    assert problems(refs, caps) == []
