"""Baselines and prediction documents for tests, written by the contract (DESIGN.md §3–§4).

Documents follow the prediction-document contract field by field, so the
sources can be tested before and independently of the handler.
"""

from __future__ import annotations

import gzip
import json
import math
import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from mlmon_elk.contract import ECS_VERSION, SCHEMA_VERSION, Kind, Role, sanitize_name
from mlmon_elk.producer.tokens import tokenize
from mlmon_elk.profile.baseline import (
    Baseline,
    CategoricalProfile,
    FeatureProfile,
    NumericProfile,
    TextProfile,
)
from mlmon_elk.windows import format_time


def numeric(
    name: str,
    edges: Sequence[float],
    *,
    role: Role = Role.INPUT,
    lo: float = 0.0,
    hi: float = 100.0,
    presence: float = 1.0,
    null_rate: float = 0.0,
) -> FeatureProfile:
    shares = tuple(1 / (len(edges) + 1) for _ in range(len(edges) + 1))
    return FeatureProfile(
        name=name,
        role=role,
        kind=Kind.NUM,
        presence=presence,
        null_rate=null_rate,
        numeric=NumericProfile(
            edges=tuple(edges), shares=shares, min=lo, max=hi, mean=(lo + hi) / 2, std=1.0
        ),
    )


def categorical(
    name: str,
    top: Mapping[str, float],
    vocabulary: Iterable[str],
    *,
    role: Role = Role.INPUT,
    presence: float = 1.0,
    null_rate: float = 0.0,
) -> FeatureProfile:
    vocab = frozenset(vocabulary) | frozenset(top)
    return FeatureProfile(
        name=name,
        role=role,
        kind=Kind.CAT,
        presence=presence,
        null_rate=null_rate,
        categorical=CategoricalProfile(
            top=tuple(top.items()),
            other_share=max(0.0, 1 - sum(top.values())),
            vocabulary=vocab,
            vocabulary_size=len(vocab),
            expected_unseen_rate=0.0,
        ),
    )


def text(name: str, vocabulary: Iterable[str], *, presence: float = 1.0) -> FeatureProfile:
    vocab = frozenset(vocabulary)
    return FeatureProfile(
        name=name,
        role=Role.INPUT,
        kind=Kind.TEXT,
        presence=presence,
        null_rate=0.0,
        text=TextProfile(
            vocabulary=vocab, vocabulary_size=len(vocab), expected_oov_rate=0.0, tokens_per_row=3
        ),
    )


def baseline(model: str, version: str, features: Sequence[FeatureProfile]) -> Baseline:
    return Baseline(model=model, version=version, rows=10_000, features=tuple(features))


def credit_baseline(version: str = "1.0", *, edges: Sequence[float] = (25, 40, 60)) -> Baseline:
    """A small model with every kind of feature: the tests' standard baseline."""
    return baseline(
        "credit",
        version,
        [
            numeric("age", edges, lo=18, hi=90),
            numeric("income", (1000.0, 5000.0), lo=0, hi=20000, null_rate=0.02),
            categorical(
                "marital",
                {"married": 0.5, "single": 0.3},
                ["married", "single", "divorced", "widowed"],
            ),
            categorical("region", {"north": 0.4, "south": 0.4}, ["north", "south", "east"]),
            text("note", ["late", "payment", "loan", "car", "house"]),
            numeric("score", (0.25, 0.5, 0.75), role=Role.OUTPUT, lo=0, hi=1),
            categorical("label", {"approve": 0.7, "reject": 0.3}, [], role=Role.OUTPUT),
        ],
    )


def prediction(
    when: datetime,
    *,
    model: str = "credit",
    version: str = "1.0",
    inputs: Mapping[str, Any] | None = None,
    outputs: Mapping[str, Any] | None = None,
    text_inputs: Sequence[str] = ("note",),
    latency_ms: float | None = 12.5,
    failure: bool = False,
    namespace: str = "default",
    prediction_id: str = "p",
) -> dict[str, Any]:
    """One prediction document, typed by the contract's value-typing rule."""
    mlmon: dict[str, Any] = {
        "schema": SCHEMA_VERSION,
        "model": {"name": model, "version": version},
        "prediction_id": prediction_id,
    }
    present: list[str] = []
    nulls: list[str] = []
    invalid: list[str] = []
    for group, values in (("inputs", inputs or {}), ("outputs", outputs or {})):
        for raw_name, value in values.items():
            name = sanitize_name(raw_name)
            if group == "inputs":
                present.append(name)
            if value is None or (isinstance(value, float) and math.isnan(value)):
                if group == "inputs":
                    nulls.append(name)
                continue
            if isinstance(value, float) and math.isinf(value):
                invalid.append(name)
                continue
            if group == "inputs" and name in text_inputs and isinstance(value, str):
                tokens = list(tokenize(value))
                _put(mlmon, ["inputs", "text", name], value)
                _put(mlmon, ["tokens", name], tokens)
                _put(mlmon, ["token_count", name], len(tokens))
            elif isinstance(value, bool):
                _put(mlmon, [group, "cat", name], "true" if value else "false")
            elif isinstance(value, (int, float)):
                _put(mlmon, [group, "num", name], float(value))
            else:
                _put(mlmon, [group, "cat", name], value)
    mlmon["present"] = present
    mlmon["null"] = nulls
    if invalid:
        mlmon["invalid"] = invalid
    if latency_ms is not None:
        mlmon["latency_ms"] = latency_ms
    event: dict[str, Any] = {
        "kind": "event",
        "dataset": "mlmon.prediction",
        "outcome": "failure" if failure else "success",
    }
    if latency_ms is not None:
        event["duration"] = round(latency_ms * 1_000_000)
    doc: dict[str, Any] = {
        "@timestamp": format_time(when),
        "ecs": {"version": ECS_VERSION},
        "event": event,
        "data_stream": {"type": "logs", "dataset": "mlmon.prediction", "namespace": namespace},
        "service": {"name": "credit-api"},
        "mlmon": mlmon,
    }
    if failure:
        doc["error"] = {"type": "ValueError", "message": "model raised"}
    return doc


def _put(target: dict[str, Any], path: Sequence[str], value: Any) -> None:
    for key in path[:-1]:
        target = target.setdefault(key, {})
    target[path[-1]] = value


def write_jsonl(path: Path, docs: Iterable[Mapping[str, Any]], *, gzipped: bool = False) -> Path:
    """Write documents as JSON lines, as the handler's file sink does."""
    lines = "".join(json.dumps(d, ensure_ascii=False) + "\n" for d in docs).encode()
    path.write_bytes(gzip.compress(lines) if gzipped else lines)
    return path


def index_documents(client: Any, index: str, docs: Sequence[Mapping[str, Any]]) -> None:
    """Bulk-``create`` documents and refresh, failing loudly on any rejected one."""
    operations: list[Mapping[str, Any]] = []
    for doc in docs:
        operations.extend(({"create": {"_index": index, "_id": uuid.uuid4().hex}}, doc))
    for start in range(0, len(operations), 2000):
        response = client.bulk(operations=operations[start : start + 2000])
        if response["errors"]:
            failed = [item for item in response["items"] if item["create"].get("error")]
            msg = f"{len(failed)} documents rejected, first: {failed[0]}"
            raise AssertionError(msg)
    client.indices.refresh(index=index)
