"""The prediction document (DESIGN.md §3) and the shipper document, assembled.

Pure: a :class:`~mlmon_elk.producer.call.PredictionCall` in, a nested
``dict`` out (``encoding.encode_line`` makes it a JSON line), or — for the
usual call — the JSON line itself, written from byte templates. Nothing here
does I/O or raises into the caller for a bad value; the values are typed by
:mod:`mlmon_elk.producer.features`.

The builder is the hot path of a serving app, so it caches what repeats from
one prediction to the next: the formatted second of ``@timestamp`` and the
static sub-objects (and, in the feature typer, names and plans).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any, Final

from mlmon_elk.contract import ECS_VERSION, SCHEMA_VERSION, Dataset
from mlmon_elk.producer import encoding
from mlmon_elk.producer import values as v
from mlmon_elk.producer.call import PredictionCall
from mlmon_elk.producer.fast_typing import type_flat, type_flat_checked
from mlmon_elk.producer.features import FEW_OUTPUTS, FeatureTyper, Plan, Typed
from mlmon_elk.producer.ids import IdGenerator
from mlmon_elk.producer.labels import label_values
from mlmon_elk.producer.names import raw_text
from mlmon_elk.producer.settings import DocumentSettings
from mlmon_elk.producer.timestamps import MILLIS, MILLIS_BYTES, TimestampFormatter, epoch_seconds

Document = dict[str, Any]
"""A document as nested JSON objects, ready for :func:`mlmon_elk.producer.encoding.encode_line`."""

MAX_ERROR_MESSAGE_CHARS: Final = 4096
MAX_PREDICTION_ID_CHARS: Final = 256
OUTCOMES: Final = ("success", "failure", "unknown")

_MAX_LATENCY_MS = 1e12  # ~31 years: beyond this the nanosecond duration overflows a long
_TIMESTAMP_OPEN: Final = b'{"@timestamp":"'
_DURATION: Final = b',"duration":%d'
_LINE_END: Final = b"}}\n"
_MAX_CATEGORY_CHARS: Final = v.MAX_CATEGORY_CHARS
_NAN: Final = float("nan")


def error_type(exc: BaseException) -> str:
    """ECS ``error.type``: the exception's qualified class name (builtins unqualified)."""
    kind = type(exc)
    module = kind.__module__
    return kind.__qualname__ if module == "builtins" else f"{module}.{kind.__qualname__}"


def error_message(exc: BaseException) -> str:
    """``str(exc)``, cut to :data:`MAX_ERROR_MESSAGE_CHARS`; never raises."""
    try:
        text = str(exc)
    except Exception:
        text = f"<unprintable {type(exc).__name__}>"
    return text[:MAX_ERROR_MESSAGE_CHARS]


class DocumentBuilder:
    """Builds prediction and shipper documents for one :class:`DocumentSettings`.

    Thread-safe: the caches are only ever replaced or grown by whole entries.
    """

    def __init__(self, settings: DocumentSettings) -> None:
        self.settings = settings
        self.new_id = IdGenerator()
        self.format_timestamp = TimestampFormatter()
        self._typer = FeatureTyper(settings)
        # Bound methods and the plan cache itself: one attribute lookup less on the hot path.
        self._next_id = self.new_id.__call__
        self._timestamp = self.format_timestamp.__call__
        self._plans = self._typer.plans
        self._plan = self._typer.plan
        self.type_outputs = self._typer.type_outputs
        self.name = self._typer.name
        self._name_of = self._typer.names.get  # the name cache is emptied, never replaced
        self._empty_as_null = settings.empty_as_null
        self._ecs = {"version": ECS_VERSION}
        self._data_stream = {
            "type": "logs",
            "dataset": str(Dataset.PREDICTION),
            "namespace": settings.namespace,
        }
        service = {
            "name": settings.service_name,
            "version": settings.service_version,
            "environment": settings.environment,
        }
        self._service = {k: val for k, val in service.items() if val is not None} or None
        self._model = {"name": settings.model, "version": settings.model_version}
        self._labels = dict(settings.labels) or None
        self._stamp_open: tuple[int, bytes] = (-1, b"")
        self._codec = encoding.dumps_bare
        self._line_head, self._event_close = self._line_templates()
        self._last_plan: tuple[tuple[object, ...] | None, Plan] = (
            None,
            self._plan((), inputs=True),
        )

    def _line_templates(self) -> tuple[bytes | None, dict[str, bytes]]:
        """The fixed bytes of a prediction line, each made by the encoder of the
        documents from the same objects :meth:`prediction` puts there.

        ``head`` follows ``@timestamp``'s value up to the event's dataset; the
        event closers hold the outcome (after ``event.duration``, when there is one)
        and everything up to ``mlmon.prediction_id``. No head without orjson:
        the templates are orjson's bytes.
        """
        if self._codec is None:  # pragma: no cover - orjson is a dependency
            return None, {}
        part = encoding.encode_part
        event = part({"kind": "event", "dataset": str(Dataset.PREDICTION)})
        head = b'","ecs":' + part(self._ecs) + b',"event":' + event[:-1]
        middle = b',"data_stream":' + part(self._data_stream)
        if self._service is not None:
            middle += b',"service":' + part(self._service)
        if self._labels is not None:
            middle += b',"labels":' + part(self._labels)
        middle += b',"mlmon":{"schema":' + part(SCHEMA_VERSION) + b',"model":'
        middle += part(self._model) + b","
        closers = {name: b',"outcome":' + part(name) + b"}" + middle for name in OUTCOMES}
        return head, closers

    # -- documents as bytes --------------------------------------------------------

    def prediction_line(self, call: PredictionCall, created: float | None = None) -> bytes | None:
        """The JSON line of :meth:`prediction`'s document, byte for byte, or None.

        The usual call — a dict of inputs without text inputs, privacy rules
        or nested mappings, no per-call labels, error or model — is written
        without building the document: its fixed parts are bytes made once
        (by the same encoder, from the same objects), and only the call's own
        part (``prediction_id`` to ``outputs``) is serialised, with the same
        typing. Any other call returns None *before* anything changes (no id is
        drawn), and the caller encodes :meth:`prediction`'s document instead.
        A property test holds the two to the same bytes.

        Raises:
            CallError: As :meth:`prediction` does, for a bad timestamp.
        """
        (
            inputs,
            outputs,
            latency_ms,
            prediction_id,
            labels,
            timestamp,
            error,
            outcome,
            model,
            model_version,
            _,
        ) = call  # one unpacking: cheaper than reading ten fields
        if (
            labels
            or error is not None
            or model is not None
            or model_version is not None
            or type(inputs) is not dict
        ):
            return None
        return self.usual_line(
            inputs, outputs, latency_ms, prediction_id, timestamp, outcome, created
        )

    def usual_line(  # noqa: PLR0917 - positional: keywords cost the hot path
        self,
        inputs: dict[Any, Any],
        outputs: Any,
        latency_ms: Any,
        prediction_id: Any,
        timestamp: Any,
        outcome: Any,
        created: float | None = None,
    ) -> bytes | None:
        """:meth:`prediction_line` of a call known to have a dict of inputs and no
        labels, error, model or model version (the handler's direct call checks
        that itself: no :class:`PredictionCall` is made for it)."""
        head = self._line_head
        codec = self._codec
        if head is None or codec is None:
            return None
        keys = tuple(inputs)
        last_keys, plan = self._last_plan
        if keys != last_keys:  # the same key set as last time: no hash, no cache lookup
            plan = self._plans.get(keys) or self._plan(keys, inputs=True)
            self._last_plan = (keys, plan)
        if plan.has_specials:
            return None
        # type_flat's first pass, inlined: a Python call here costs as much as typing
        # one or two values (bench/handler.py, callgrind). fast_typing.type_flat stays
        # the rule: the property tests hold this line to the document it types.
        num: dict[str, float] = {}
        cat: dict[str, Any] = {}
        total = _NAN  # stays NaN when the pass gives up: then typed value by value
        # The items as they are when the keys are the names (a pairing less per value).
        pairs = inputs.items() if plan.keys_are_names else zip(plan.names, inputs.values())  # noqa: B905
        for name, value in pairs:
            kind = type(value)
            if kind is float:
                num[name] = value
            elif kind is str:
                if value and len(value) <= _MAX_CATEGORY_CHARS:
                    cat[name] = value
                else:
                    break
            elif kind is int:
                try:
                    num[name] = float(value)
                except OverflowError:
                    break
            elif kind is bool:
                cat[name] = "true" if value else "false"
            else:
                break
        else:
            total = sum(num.values())  # finite floats sum finite, unless it overflows
        if total - total == 0.0:
            null = invalid = None
        else:
            flat = type_flat_checked(plan.names, inputs.values(), self._empty_as_null)
            if flat is None:  # a mapping among the values: flattened by the builder
                return None
            num, cat, null, invalid = flat
        # From here on as prediction(), in its order: the id is drawn first.
        if prediction_id is None:
            ids = self.new_id  # IdGenerator.__call__, inlined
            tail: Document = {"prediction_id": next(ids.pool, None) or ids.refill()}
        else:
            tail = {"prediction_id": self._prediction_id(prediction_id)}
        if type(latency_ms) is float and 0.0 <= latency_ms < _MAX_LATENCY_MS:
            latency: float | None = latency_ms
        else:
            latency = _latency(latency_ms)
        if latency is not None:
            tail["latency_ms"] = latency
            duration = _DURATION % round(latency * 1e6)
        else:
            duration = b""
        if outcome is None or outcome not in OUTCOMES:  # None first: no string compared
            outcome = "success"
        if num:
            tail["inputs"] = {"num": num, "cat": cat} if cat else {"num": num}
        elif cat:
            tail["inputs"] = {"cat": cat}
        if type(outputs) is dict and len(outputs) <= FEW_OUTPUTS:
            # FeatureTyper.type_outputs' loop for a few plain outputs with known
            # names, inlined for the same reason; anything else goes to it.
            out_num: dict[str, float] = {}
            out_cat: dict[str, str] = {}
            name_of = self._name_of
            for key, value in outputs.items():
                name = name_of(key)
                # Keys that are their own names are distinct names, as keys are; any other
                # (a new key, or one that is not its name: two may share it) goes to the typer.
                if name != key or name is None:
                    break
                kind = type(value)
                if kind is float and value - value == 0.0:
                    out_num[name] = value
                elif kind is str and value and len(value) <= _MAX_CATEGORY_CHARS:
                    out_cat[name] = value
                else:
                    break
            else:
                if out_num:
                    tail["outputs"] = (
                        {"num": out_num, "cat": out_cat} if out_cat else {"num": out_num}
                    )
                elif out_cat:
                    tail["outputs"] = {"cat": out_cat}
                outputs = None  # typed
        if outputs is not None:
            out = self.type_outputs(outputs)
            if out:
                tail["outputs"] = out
        if timestamp is None:
            when = time.time() if created is None else created
        else:
            when = epoch_seconds(timestamp)
        second, stamp = self._stamp_open
        if second == int(when) and when >= 0.0:  # joined below: one concatenation less
            millis = MILLIS_BYTES[int((when - second) * 1000.0)]
        else:
            text = self._timestamp(when)
            second, prefix = self.format_timestamp.cached
            self._stamp_open = (second, _TIMESTAMP_OPEN + prefix.encode("ascii"))
            stamp, millis = _TIMESTAMP_OPEN + text.encode("ascii"), b""
        try:
            body = codec(tail)
        except (TypeError, ValueError, UnicodeError):  # e.g. a lone surrogate: repaired
            body = encoding.encode_part(tail)
        # present, null and invalid close the object: present's bytes are the plan's.
        end = _LINE_END
        if null or invalid:
            end = _null_and_invalid(null, invalid) + end
        return b"".join(
            (
                stamp,
                millis,
                head,
                duration,
                self._event_close[outcome],
                body[1:-1],
                plan.present_json,
                end,
            )
        )

    # -- documents ---------------------------------------------------------------

    def prediction(self, call: PredictionCall, created: float | None = None) -> Document:
        """One prediction document (DESIGN.md §3) from the values of one call.

        The document shares its constant parts (``ecs``, ``data_stream``,
        ``service``, ``mlmon.model``, ``mlmon.present``…) with the other
        documents of this builder: treat it as read-only.

        Args:
            call: The call's values (a one-row call: ``inputs`` is a mapping).
            created: The time when the call has none (a record's ``created``); default now.

        Raises:
            CallError: A value the document cannot hold (e.g. an unparsable timestamp).
        """
        (
            inputs,
            outputs,
            latency_ms,
            prediction_id,
            labels,
            timestamp,
            error,
            outcome,
            model,
            model_version,
            _,
        ) = call  # one unpacking: cheaper than reading ten fields
        flat = None
        if type(inputs) is dict:
            keys = tuple(inputs)
            plan = self._plans.get(keys) or self._plan(keys, inputs=True)
            if not plan.has_specials:
                flat = type_flat(plan.names, inputs.values(), self._empty_as_null)
        if flat is not None:
            num, cat, null, invalid = flat
            present = plan.present
            tokens = token_count = None
            if num:
                values: Document | None = {"num": num, "cat": cat} if cat else {"num": num}
            else:
                values = {"cat": cat} if cat else None
        else:
            typed = Typed()
            present = self._typer.type_inputs(inputs, typed)
            values = typed.values_object() or None
            null, invalid = typed.null, typed.invalid
            tokens, token_count = typed.tokens, typed.token_count
        mlmon: Document = {
            "schema": SCHEMA_VERSION,
            "model": self._model
            if model is None and model_version is None
            else self._model_object(model, model_version),
            "prediction_id": self._next_id()
            if prediction_id is None
            else self._prediction_id(prediction_id),
        }
        event: Document = {"kind": "event", "dataset": "mlmon.prediction"}
        if type(latency_ms) is float and 0.0 <= latency_ms < _MAX_LATENCY_MS:
            latency: float | None = latency_ms
        else:
            latency = _latency(latency_ms)
        if latency is not None:
            mlmon["latency_ms"] = latency
            event["duration"] = round(latency * 1e6)
        if outcome not in OUTCOMES:
            outcome = "failure" if error is not None else "success"
        event["outcome"] = outcome
        if values is not None:
            mlmon["inputs"] = values
        if outputs is not None:
            out = self.type_outputs(outputs)
            if out:
                mlmon["outputs"] = out
        if tokens:
            mlmon["tokens"] = tokens
            mlmon["token_count"] = token_count
        mlmon["present"] = present
        if null:
            mlmon["null"] = null
        if invalid:
            mlmon["invalid"] = invalid
        if timestamp is None:
            when = time.time() if created is None else created
        else:
            when = epoch_seconds(timestamp)
        second, prefix = self.format_timestamp.cached
        if second == int(when) and when >= 0.0:  # the usual case, inline: same second as before
            stamp = prefix + MILLIS[int((when - second) * 1000.0)]
        else:
            stamp = self._timestamp(when)
        doc: Document = {
            "@timestamp": stamp,
            "ecs": self._ecs,
            "event": event,
            "data_stream": self._data_stream,
        }
        if self._service is not None:
            doc["service"] = self._service
        if labels:
            merged = (
                {**self._labels, **label_values(labels)} if self._labels else label_values(labels)
            )
            if merged:
                doc["labels"] = merged
        elif self._labels is not None:
            doc["labels"] = self._labels
        doc["mlmon"] = mlmon
        if error is not None:
            doc["error"] = {"type": error_type(error), "message": error_message(error)}
        return doc

    def shipper(self, counters: Mapping[str, int], *, timestamp: float | None = None) -> Document:
        """A delivery-health document (``event.dataset: mlmon.shipper``) with ``counters``."""
        doc: Document = {
            "@timestamp": self.format_timestamp(time.time() if timestamp is None else timestamp),
            "ecs": self._ecs,
            "event": {"kind": "metric", "dataset": str(Dataset.SHIPPER)},
            "data_stream": self._data_stream,
        }
        if self._service is not None:
            doc["service"] = self._service
        if self._labels is not None:
            doc["labels"] = self._labels
        doc["mlmon"] = {
            "schema": SCHEMA_VERSION,
            "model": self._model,
            "shipper": {name: int(count) for name, count in counters.items()},
        }
        return doc

    def _model_object(self, model: str | None, version: str | None) -> dict[str, str]:
        return {
            "name": str(model) if model else self.settings.model,
            "version": str(version) if version else self.settings.model_version,
        }

    def _prediction_id(self, given: object) -> str:
        text = given if type(given) is str else raw_text(given)
        return text[:MAX_PREDICTION_ID_CHARS] if text else self.new_id()


def _null_and_invalid(null: list[str] | None, invalid: list[str] | None) -> bytes:
    """``mlmon.null`` and ``mlmon.invalid`` as the members that follow ``present``."""
    out = b',"null":' + encoding.encode_part(null) if null else b""
    if invalid:
        out += b',"invalid":' + encoding.encode_part(invalid)
    return out


def _latency(value: object) -> float | None:
    if type(value) is float:
        latency: float = value
    elif value is None:
        return None
    else:
        kind, logged = v.classify(value)
        if kind != v.NUM:
            return None
        latency = logged
    return latency if 0.0 <= latency < _MAX_LATENCY_MS else None
