"""Data streams created before mlmon-elk's templates existed, and their repair.

If anything writes to ``logs-mlmon.prediction-<ns>`` before ``setup`` installed
the templates, Elasticsearch creates the stream from its built-in ``logs-*-*``
template: other mappings (integers as ``long``, strings as text) and another
retention. Installing the templates afterwards changes only the *next* backing
index. So setup looks at each mlmon stream's write index and rolls over those
whose mappings lack mlmon's mark (``_meta.managed_by: mlmon-elk``, set by the
``mlmon-settings`` component on Elasticsearch and OpenSearch alike): new
documents then land in an index made from mlmon's templates, and the foreign one
ages out under its own policy.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from mlmon_elk.contract import Dataset
from mlmon_elk.errors import SetupError
from mlmon_elk.stack.plan import Action, Step
from mlmon_elk.stack.templates import (
    INVALID_DATASET,
    MANAGED_BY,
    PREDICTION_POLICY,
    RESULT_POLICY,
)

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch

STREAMS = "logs-mlmon.*-*"

_POLICY_OF_DATASET = {
    str(Dataset.PREDICTION): PREDICTION_POLICY,
    str(Dataset.CHECK): RESULT_POLICY,
    str(Dataset.ALERT): RESULT_POLICY,
    INVALID_DATASET: RESULT_POLICY,
}


def expected_policy(stream: str) -> str | None:
    """The ILM policy mlmon's templates give a stream's indices; ``None`` if not mlmon's."""
    parts = stream.split("-", 2)
    if len(parts) != 3 or parts[0] != "logs":
        return None
    return _POLICY_OF_DATASET.get(parts[1])


def foreign_streams(write_index_marks: Mapping[str, tuple[str, str | None]]) -> list[Step]:
    """The streams to roll over, from each stream's (write index, its mapping's ``managed_by``).

    Pure: :func:`read_write_indices` reads the input from the cluster.
    """
    steps = []
    for stream, (index, managed_by) in sorted(write_index_marks.items()):
        if expected_policy(stream) is None or managed_by == MANAGED_BY:
            continue
        found = f"managed by {managed_by!r}" if managed_by else "no mlmon-elk mark"
        detail = (
            f"write index {index} was made without mlmon's templates ({found});"
            " rolled over so new documents get mlmon's mappings and retention"
        )
        steps.append(Step("elasticsearch", "data stream", stream, Action.UPDATE, detail))
    return steps


def read_write_indices(client: Elasticsearch) -> dict[str, tuple[str, str | None]]:
    """Each mlmon data stream's write index and the ``managed_by`` of its mappings."""
    from elasticsearch import ApiError

    try:
        found = client.options(ignore_status=404).indices.get_data_stream(name=STREAMS)
        streams: list[Mapping[str, Any]] = list(found.get("data_streams", []))
        out: dict[str, tuple[str, str | None]] = {}
        for stream in streams:
            indices = stream.get("indices") or []
            if not indices:
                continue
            index = str(indices[-1]["index_name"])
            mapping = client.indices.get_mapping(index=index).get(index, {}).get("mappings", {})
            out[str(stream["name"])] = (index, mapping.get("_meta", {}).get("managed_by"))
    except ApiError as exc:
        msg = f"cannot read the mlmon data streams ({STREAMS}): {exc}"
        raise SetupError(msg) from exc
    return out


def repair_foreign_streams(client: Elasticsearch, *, dry_run: bool = False) -> list[Step]:
    """Roll over every mlmon stream whose write index is foreign; returns the steps."""
    from elasticsearch import ApiError

    steps = foreign_streams(read_write_indices(client))
    if not dry_run:
        for step in steps:
            try:
                client.indices.rollover(alias=step.name)
            except ApiError as exc:
                msg = f"cannot roll over data stream {step.name}: {exc}"
                raise SetupError(msg) from exc
    return steps
