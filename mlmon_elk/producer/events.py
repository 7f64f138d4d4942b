"""The prediction document (DESIGN.md §3) and the shipper document, built from call values.

Pure: values in, a nested ``dict`` out (``encoding.encode_line`` makes it a
JSON line). Nothing here does I/O or raises into the caller for a bad value:
every value is typed by :func:`mlmon_elk.producer.values.classify`, feature names go
through :func:`mlmon_elk.contract.sanitize_name`, text through
:func:`mlmon_elk.producer.tokens.tokenize`.

The builder is the hot path of a serving app, so it caches what repeats from
one prediction to the next: the sanitised names of a key set (a *plan*), the
formatted second of ``@timestamp``, the static sub-objects. The caches are
bounded; they never change what a document contains.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import itertools
import math
import os
import secrets
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal, NamedTuple

from mlmon_elk.contract import (
    DEFAULT_NAMESPACE,
    ECS_VERSION,
    SCHEMA_VERSION,
    Dataset,
    sanitize_name,
    validate_namespace,
    with_hash_suffix,
)
from mlmon_elk.errors import ConfigError
from mlmon_elk.producer import encoding
from mlmon_elk.producer import values as v
from mlmon_elk.producer.tokens import tokenize

Document = dict[str, Any]
"""A document as nested JSON objects, ready for :func:`mlmon_elk.producer.encoding.encode_line`."""

DEFAULT_OUTPUT_NAME: Final = "prediction"
"""Name of the output when the model's output is a bare value rather than a mapping."""

DEFAULT_MODEL_VERSION: Final = "unknown"

DEFAULT_MAX_TEXT_CHARS: Final = 1000
"""Declared text inputs are stored cut to this many characters (tokens see the whole text)."""

MAX_ERROR_MESSAGE_CHARS: Final = 4096
MAX_PREDICTION_ID_CHARS: Final = 256
MAX_NESTING: Final = 4
"""Nested mappings deeper than this are invalid features, not flattened further."""

INPUTS_NOT_A_MAPPING: Final = "_inputs"
"""Recorded in ``mlmon.invalid`` when ``inputs`` is neither a mapping nor a batch."""

OUTCOMES: Final = ("success", "failure", "unknown")

_MAX_LATENCY_MS = 1e12  # ~31 years: beyond this the nanosecond duration overflows a long
_NAME_CACHE_SIZE = 20_000
_PLAN_CACHE_SIZE = 2_000


@dataclass(frozen=True)
class PrivacyRule:
    """What happens to one input before anything leaves the process.

    ``drop``: the input is removed entirely (not even listed in ``mlmon.present``).
    ``truncate``: strings (categories, text, list items) are cut to ``length``
    characters; text tokens are taken from the cut text. ``hash``: the logged
    value is replaced by the first 32 hex digits of its HMAC-SHA256 under the
    key from the environment, as a category (so equal values still group).
    """

    action: Literal["drop", "truncate", "hash"]
    length: int = 0

    @classmethod
    def parse(cls, spec: str | PrivacyRule, *, where: str) -> PrivacyRule:
        """Read ``"drop"``, ``"hash"`` or ``"truncate:<n>"``.

        Raises:
            ConfigError: The spec is none of these; the message names ``where``.
        """
        if isinstance(spec, PrivacyRule):
            return spec
        text = str(spec).strip().lower()
        if text in ("drop", "hash"):
            return cls(text)  # type: ignore[arg-type]
        name, _, length = text.partition(":")
        if name == "truncate" and length.isdigit():
            return cls("truncate", int(length))
        msg = f"{where}: expected 'drop', 'hash' or 'truncate:<chars>', got {spec!r}"
        raise ConfigError(msg)


@dataclass(frozen=True)
class DocumentSettings:
    """Everything constant across the documents of one handler.

    Build it with :meth:`create`, which validates and sanitises the options.
    """

    model: str
    model_version: str = DEFAULT_MODEL_VERSION
    service_name: str | None = None
    service_version: str | None = None
    environment: str | None = None
    namespace: str = DEFAULT_NAMESPACE
    labels: Mapping[str, str] = field(default_factory=dict)
    text_inputs: frozenset[str] = frozenset()
    privacy: Mapping[str, PrivacyRule] = field(default_factory=dict)
    hash_key: bytes | None = field(default=None, repr=False)
    empty_as_null: bool = False
    max_text_chars: int = DEFAULT_MAX_TEXT_CHARS

    @classmethod
    def create(
        cls,
        *,
        model: str,
        model_version: str | None = None,
        service: str | None = None,
        service_version: str | None = None,
        environment: str | None = None,
        namespace: str = DEFAULT_NAMESPACE,
        labels: Mapping[str, object] | None = None,
        text_inputs: Iterable[str] = (),
        privacy: Mapping[str, str | PrivacyRule] | None = None,
        hash_key_env: str = "MLMON_HASH_KEY",
        empty_as_null: bool = False,
        max_text_chars: int = DEFAULT_MAX_TEXT_CHARS,
    ) -> DocumentSettings:
        """Validated settings; names of inputs are sanitised like feature names.

        Raises:
            ConfigError: A value is wrong (the message names the option), or a
                ``hash`` rule is configured and ``hash_key_env`` is not set.
        """
        if not isinstance(model, str) or not model:
            msg = f"model: expected a non-empty string, got {model!r}"
            raise ConfigError(msg)
        if isinstance(text_inputs, str):
            text_inputs = (text_inputs,)
        if max_text_chars < 0:
            msg = f"max_text_chars: expected a number ≥ 0, got {max_text_chars!r}"
            raise ConfigError(msg)
        try:
            validate_namespace(namespace)
        except ValueError as exc:
            msg_0 = f"namespace: {exc}"
            raise ConfigError(msg_0) from exc
        rules = {
            sanitize_name(name): PrivacyRule.parse(spec, where=f"privacy[{name!r}]")
            for name, spec in (privacy or {}).items()
        }
        key = None
        if any(rule.action == "hash" for rule in rules.values()):
            secret = os.environ.get(hash_key_env)
            if not secret:
                msg = (
                    f"privacy: a 'hash' rule needs a key; set the environment variable"
                    f" {hash_key_env} (the key never goes into configuration files)"
                )
                raise ConfigError(msg)
            key = secret.encode("utf-8")
        return cls(
            model=model,
            model_version=str(model_version) if model_version else DEFAULT_MODEL_VERSION,
            service_name=service,
            service_version=service_version,
            environment=environment,
            namespace=namespace,
            labels=label_values(labels or {}),
            text_inputs=frozenset(sanitize_name(name) for name in text_inputs),
            privacy=rules,
            hash_key=key,
            empty_as_null=empty_as_null,
            max_text_chars=max_text_chars,
        )


def label_values(labels: Mapping[Any, object]) -> dict[str, str]:
    """ECS ``labels``: flat, keyword values; keys sanitised like feature names.

    Strings, bools (``"true"``/``"false"``), integers, finite floats, enums and
    dates become strings; ``None`` and anything else is left out.
    """
    out: dict[str, str] = {}
    for key, value in labels.items():
        if isinstance(value, bool):
            text: str | None = "true" if value else "false"
        elif isinstance(value, int):
            text = str(value)
        else:
            kind, logged = v.classify(value)
            text = logged if kind == v.CAT else repr(logged) if kind == v.NUM else None
        if text is not None:
            out[_safe_name(key)] = text
    return out


def _safe_name(raw: object) -> str:
    try:
        return sanitize_name(raw)
    except Exception:  # a key whose __str__ raises: named after its type
        return sanitize_name(f"<{type(raw).__name__}>")


def _raw_text(raw: object) -> str:
    try:
        return raw if isinstance(raw, str) else str(raw)
    except Exception:
        return f"<{type(raw).__name__}>"


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


class IdGenerator:
    """Prediction ids unique across processes: a random 64-bit prefix and a counter.

    Cheaper than ``uuid4()`` (no system call per id). :meth:`reset` after
    ``fork()`` gives the child its own prefix, so parent and child never
    produce the same id.
    """

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """Draw a new prefix and restart the counter."""
        self._prefix = secrets.token_hex(8) + "-"
        self._counter = itertools.count(1)

    def __call__(self) -> str:
        return self._prefix + format(next(self._counter), "x")


_MILLIS = tuple(f".{ms:03d}Z" for ms in range(1000))
_MILLIS_BYTES = tuple(millis.encode("ascii") for millis in _MILLIS)


class TimestampFormatter:
    """``@timestamp`` strings (ISO-8601 UTC, milliseconds, ``Z``), one strftime per second."""

    def __init__(self) -> None:
        self.cached: tuple[int, str] = (-1, "")
        """The last second formatted and its text (read by the document builder)."""

    def __call__(self, epoch: float) -> str:
        second = int(epoch) if epoch >= 0.0 else math.floor(epoch)
        cached = self.cached
        if cached[0] != second:
            try:
                when = dt.datetime.fromtimestamp(second, dt.UTC)
            except (OverflowError, OSError, ValueError):  # beyond year 9999: log it as now
                return self(time.time())
            cached = self.cached = (second, when.strftime("%Y-%m-%dT%H:%M:%S"))
        return cached[1] + _MILLIS[int((epoch - second) * 1000.0)]


class CallError(ValueError):
    """A value of a ``log_prediction`` call that cannot be used: the call is dropped.

    ``argument`` names the argument, so each kind of reason gets its own diagnostic.
    """

    def __init__(self, argument: str, message: str) -> None:
        super().__init__(f"{argument}: {message}")
        self.argument = argument


_TIMESTAMP: Final = "timestamp"


def epoch_seconds(timestamp: object) -> float:
    """Seconds since the epoch of a caller's timestamp.

    Accepts epoch seconds (int or float), a ``datetime`` (pandas ``Timestamp``
    included), a numpy ``datetime64`` or an ISO-8601 string
    (``2026-11-22T22:15:33.5Z``, ``2026-11-22 23:15:33+01:00``). Naive
    datetimes and strings without an offset are taken as UTC. A non-finite
    number is now.

    Raises:
        CallError: Anything else (a list on a single prediction, an unparsable string…).
    """
    if timestamp is None:
        return time.time()
    kind = type(timestamp)
    if kind is float or kind is int:
        seconds = float(timestamp)  # type: ignore[arg-type]
        return seconds if math.isfinite(seconds) else time.time()
    if isinstance(timestamp, str):
        text = timestamp
        try:
            timestamp = dt.datetime.fromisoformat(text.strip())
        except ValueError:
            raise CallError(_TIMESTAMP, f"not an ISO-8601 date and time: {text[:64]!r}") from None
    elif type(timestamp).__name__ == "datetime64":  # numpy, recognised without importing it
        item = v.classify(timestamp)
        if item[0] != v.CAT:
            raise CallError(_TIMESTAMP, f"not a date and time: {timestamp!r}")
        timestamp = dt.datetime.fromisoformat(item[1])
    if isinstance(timestamp, dt.datetime):
        if timestamp != timestamp:  # noqa: PLR0124 - NaT
            raise CallError(_TIMESTAMP, "NaT is not a time")
        if timestamp.tzinfo is None:
            timestamp = timestamp.replace(tzinfo=dt.UTC)
        return timestamp.timestamp()
    try:
        if isinstance(timestamp, bool):
            raise TypeError
        seconds = float(timestamp)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        msg = (
            "expected epoch seconds, a datetime or an ISO-8601 string"
            f" (one per row for a batch), got {type(timestamp).__name__}"
        )
        raise CallError(_TIMESTAMP, msg) from None
    return seconds if math.isfinite(seconds) else time.time()


@dataclass(frozen=True, slots=True)
class _Special:
    """An input that is not typed by the fast path: declared text or a privacy rule."""

    text: bool
    rule: PrivacyRule | None


@dataclass(frozen=True, slots=True)
class _Plan:
    """What one set of keys (in one order) turns into; computed once per key set."""

    names: tuple[str, ...]
    specials: tuple[_Special | None, ...]
    present: list[str]
    has_specials: bool


_TIMESTAMP_OPEN: Final = b'{"@timestamp":"'


class _Nested(Exception):
    """Raised inside the fast path when a value is a mapping: flatten, then retry."""


_Flat = tuple[dict[str, float], dict[str, Any], list[str] | None, list[str] | None]
"""``num``, ``cat``, ``null`` and ``invalid`` of the values of one key set."""


class _Typed:
    """The typed features of one document, filled by :class:`DocumentBuilder`."""

    __slots__ = ("cat", "invalid", "null", "num", "text", "token_count", "tokens")

    def __init__(self) -> None:
        self.num: dict[str, float] = {}
        self.cat: dict[str, Any] = {}
        self.text: dict[str, str] | None = None
        self.tokens: dict[str, list[str]] | None = None
        self.token_count: dict[str, int] | None = None
        self.null: list[str] | None = None
        self.invalid: list[str] | None = None

    def add_null(self, name: str) -> None:
        if self.null is None:
            self.null = []
        self.null.append(name)

    def add_invalid(self, name: str) -> None:
        if self.invalid is None:
            self.invalid = []
        self.invalid.append(name)

    def add_text(self, name: str, text: str, max_chars: int) -> None:
        if self.text is None:
            self.text, self.tokens, self.token_count = {}, {}, {}
        assert self.tokens is not None  # noqa: S101 - set together with text
        assert self.token_count is not None  # noqa: S101 - set together with text
        tokens = list(tokenize(text))
        self.text[name] = text[:max_chars]
        self.tokens[name] = tokens
        self.token_count[name] = len(tokens)

    def values_object(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.num:
            out["num"] = self.num
        if self.cat:
            out["cat"] = self.cat
        if self.text:
            out["text"] = self.text
        return out


class DocumentBuilder:
    """Builds prediction and shipper documents for one :class:`DocumentSettings`.

    Thread-safe: the caches are only ever replaced or grown by whole entries.
    """

    def __init__(self, settings: DocumentSettings) -> None:
        self.settings = settings
        self.new_id = IdGenerator()
        self.format_timestamp = TimestampFormatter()
        # Bound methods: calling an instance's __call__ costs more on the hot path.
        self._next_id = self.new_id.__call__
        self._timestamp = self.format_timestamp.__call__
        self._empty_as_null = settings.empty_as_null
        self._names: dict[object, str] = {}
        self._plans: dict[tuple[object, ...], _Plan] = {}
        self._output_plans: dict[tuple[object, ...], _Plan] = {}
        self._specials: dict[str, _Special] = {}
        for name in settings.text_inputs | settings.privacy.keys():
            self._specials[name] = _Special(
                name in settings.text_inputs, settings.privacy.get(name)
            )
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
        self._line_head, self._event_close, self._event_close_timed = self._line_templates()

    def _line_templates(self) -> tuple[bytes | None, dict[str, bytes], dict[str, bytes]]:
        """The fixed bytes of a prediction line, each made by the encoder of the
        documents from the same objects :meth:`prediction` puts there.

        ``head`` follows ``@timestamp``'s value up to the event's dataset; the
        event closers hold the outcome (and a ``%d`` slot for ``event.duration``)
        and everything up to ``mlmon.prediction_id``. No head without orjson:
        the templates are orjson's bytes.
        """
        if self._codec is None:  # pragma: no cover - orjson is a dependency
            return None, {}, {}
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
        timed = {
            name: b',"duration":%d' + closer.replace(b"%", b"%%")
            for name, closer in closers.items()
        }
        return head, closers, timed

    # -- names -------------------------------------------------------------------

    def name(self, raw: object) -> str:
        """Sanitised feature name of a key (cached)."""
        name = self._names.get(raw)
        if name is None:
            name = _safe_name(raw)
            if len(self._names) >= _NAME_CACHE_SIZE:
                self._names = {}
            self._names[raw] = name
        return name

    def _plan(self, keys: tuple[object, ...], *, inputs: bool) -> _Plan:
        cache = self._plans if inputs else self._output_plans
        plan = cache.get(keys)
        if plan is None:
            plan = self._make_plan([(key, self.name(key)) for key in keys], inputs=inputs)
            if len(cache) >= _PLAN_CACHE_SIZE:
                cache.clear()
            cache[keys] = plan
        return plan

    def _make_plan(self, keyed: Sequence[tuple[object, str]], *, inputs: bool) -> _Plan:
        names: list[str] = []
        specials: list[_Special | None] = []
        seen: set[str] = set()
        for raw, base in keyed:
            name = base
            if name in seen:  # two keys sanitise alike within one record
                name = with_hash_suffix(base, _raw_text(raw))
                for extra in itertools.count(2):
                    if name not in seen:
                        break
                    name = with_hash_suffix(base, f"{_raw_text(raw)}#{extra}")
            seen.add(name)
            names.append(name)
            specials.append(self._specials.get(base) if inputs else None)
        present = [
            name
            for name, special in zip(names, specials, strict=True)
            if special is None or special.rule is None or special.rule.action != "drop"
        ]
        return _Plan(tuple(names), tuple(specials), present, any(specials))

    # -- typing ------------------------------------------------------------------

    def _type_values(self, plan: _Plan, values: Iterable[Any], typed: _Typed) -> None:
        """Type the values of one key set into ``typed``.

        Raises:
            _Nested: A value is a mapping (the caller flattens and retries).
        """
        if plan.has_specials:
            self._type_values_with_specials(plan, values, typed)
            return
        flat = self._type_flat(plan.names, values)
        if flat is None:
            raise _Nested
        typed.num, typed.cat, typed.null, typed.invalid = flat

    def _type_flat(self, names: tuple[str, ...], values: Iterable[Any]) -> _Flat | None:
        """The fast path: the values of a key set without text or privacy rules.

        Exact floats, non-empty strings, ints and bools are placed inline (most
        values of a serving app); anything else goes through
        :func:`mlmon_elk.producer.values.classify`, so both give the same result (a
        property test holds them to it). None when a value is a mapping.
        """
        num: dict[str, float] = {}
        cat: dict[str, Any] = {}
        null: list[str] | None = None
        invalid: list[str] | None = None
        max_chars = v.MAX_CATEGORY_CHARS
        for name, value in zip(names, values, strict=False):
            kind = type(value)
            if kind is float:
                if value - value == 0.0:
                    num[name] = value
                    continue
                typed = v.number(value)
            elif kind is str:
                if value and len(value) <= max_chars:
                    cat[name] = value
                    continue
                typed = v.string(value, self._empty_as_null)
            elif kind is int:
                try:
                    num[name] = float(value)
                    continue
                except OverflowError:
                    typed = v.INVALID, None
            elif kind is bool:
                cat[name] = "true" if value else "false"
                continue
            else:
                typed = v.classify(value, empty_as_null=self._empty_as_null)
            code, logged = typed
            if code == v.NUM:
                num[name] = logged
            elif code == v.CAT or code == v.CATS:  # noqa: PLR1714 - two ints, no set needed
                cat[name] = logged
            elif code == v.NULL:
                if null is None:
                    null = []
                null.append(name)
            elif code == v.INVALID:
                if invalid is None:
                    invalid = []
                invalid.append(name)
            else:
                return None  # a mapping: flattened by the slow path
        return num, cat, null, invalid

    def _type_values_with_specials(self, plan: _Plan, values: Iterable[Any], typed: _Typed) -> None:
        num, cat = typed.num, typed.cat
        empty_as_null = self.settings.empty_as_null
        max_chars = v.MAX_CATEGORY_CHARS
        for name, special, value in zip(plan.names, plan.specials, values, strict=False):
            kind = type(value)
            if special is not None:
                self._place(name, special, value, typed)
            elif kind is float:
                if value - value == 0.0:
                    num[name] = value
                elif value != value:  # noqa: PLR0124 - NaN
                    typed.add_null(name)
                else:
                    typed.add_invalid(name)
            elif kind is str:
                if len(value) > max_chars:
                    cat[name] = value[:max_chars]
                elif value or not empty_as_null:
                    cat[name] = value
                else:
                    typed.add_null(name)
            else:
                self._place(name, None, value, typed)

    def _place(self, name: str, special: _Special | None, value: object, typed: _Typed) -> None:
        rule = special.rule if special is not None else None
        if rule is not None and rule.action == "drop":
            return
        if special is not None and special.text and isinstance(value, str):
            if not value and self.settings.empty_as_null:
                typed.add_null(name)
            elif rule is None:
                typed.add_text(name, value, self.settings.max_text_chars)
            elif rule.action == "truncate":  # tokens of the cut text only: the rest stays here
                typed.add_text(name, value[: rule.length], self.settings.max_text_chars)
            else:
                typed.cat[name] = self._hash(value)
            return
        kind, logged = v.classify(value, empty_as_null=self.settings.empty_as_null)
        if kind == v.NESTED:
            raise _Nested
        if rule is not None:
            kind, logged = self._apply_rule(rule, kind, logged)
        if kind == v.NUM:
            typed.num[name] = logged
        elif kind in (v.CAT, v.CATS):
            typed.cat[name] = logged
        elif kind == v.NULL:
            typed.add_null(name)
        else:
            typed.add_invalid(name)

    def _apply_rule(self, rule: PrivacyRule, kind: int, logged: Any) -> tuple[int, Any]:
        """Hash or cut a typed value; nulls and invalid values carry nothing to protect."""
        if rule.action == "hash":
            if kind == v.CATS:
                return v.CATS, [self._hash(item) for item in logged]
            if kind in (v.NUM, v.CAT):
                return v.CAT, self._hash(logged if kind == v.CAT else repr(logged))
            return kind, logged
        if kind == v.CAT:
            return v.CAT, logged[: rule.length]
        if kind == v.CATS:
            return v.CATS, [item[: rule.length] for item in logged]
        return kind, logged  # numbers are not strings to cut

    def _hash(self, text: str) -> str:
        key = self.settings.hash_key
        assert key is not None  # noqa: S101 - create() requires a key for hash rules
        data = text.encode("utf-8", "surrogatepass")
        return hmac.new(key, data, hashlib.sha256).hexdigest()[:32]

    def _order_flat(self, mapping: Mapping[Any, Any]) -> list[tuple[str, object, bool]]:
        out: list[tuple[str, object, bool]] = []

        def walk(prefix: str, current: Mapping[Any, Any], depth: int) -> None:
            for key, value in current.items():
                dotted = prefix + _raw_text(key)
                if isinstance(value, Mapping) and value:
                    if depth + 1 >= MAX_NESTING:
                        out.append((dotted, None, True))
                    else:
                        walk(dotted + ".", value, depth + 1)
                else:
                    out.append((dotted, None if isinstance(value, Mapping) else value, False))

        walk("", mapping, 0)
        return out

    def _type_nested(self, mapping: Mapping[Any, Any], typed: _Typed, *, inputs: bool) -> list[str]:
        """The slow path for records holding mappings: flatten, name, type."""
        flat = self._order_flat(mapping)
        plan = self._make_plan(
            [(dotted, self.name(dotted)) for dotted, _, _ in flat], inputs=inputs
        )
        for name, special, (_, value, too_deep) in zip(
            plan.names, plan.specials, flat, strict=True
        ):
            if too_deep:
                if special is None or special.rule is None or special.rule.action != "drop":
                    typed.add_invalid(name)
                continue
            try:
                self._place(name, special, value, typed)
            except _Nested:  # an empty mapping: present, no value
                typed.add_null(name)
        return plan.present

    def type_inputs(self, inputs: object, typed: _Typed) -> list[str]:
        """Fill ``typed`` from a mapping of inputs; returns ``mlmon.present``."""
        if inputs is None:
            return []
        if type(inputs) is not dict and not isinstance(inputs, Mapping):
            typed.add_invalid(INPUTS_NOT_A_MAPPING)
            return []
        keys = tuple(inputs)
        plan = self._plans.get(keys) or self._plan(keys, inputs=True)
        try:
            self._type_values(plan, inputs.values(), typed)
        except _Nested:
            typed.num.clear()
            typed.cat.clear()
            typed.text = typed.tokens = typed.token_count = None
            typed.null = typed.invalid = None
            return self._type_nested(inputs, typed, inputs=True)
        return plan.present

    def type_outputs(self, given: object) -> dict[str, Any] | None:
        """``mlmon.outputs`` of a mapping (or a bare value, named ``prediction``)."""
        if given is None:
            return None
        outputs: Mapping[Any, Any]
        if type(given) is dict or isinstance(given, Mapping):
            outputs = given
        else:
            outputs = {DEFAULT_OUTPUT_NAME: given}
        if len(outputs) <= 4:  # the usual few outputs: skip the plan machinery
            num: dict[str, float] = {}
            cat: dict[str, str] = {}
            name_of = self._names.get
            for key, value in outputs.items():
                name = name_of(key) or self.name(key)
                if name in num or name in cat:
                    break
                kind = type(value)
                if kind is float and value - value == 0.0:
                    num[name] = value
                elif kind is str and len(value) <= v.MAX_CATEGORY_CHARS and value:
                    cat[name] = value
                else:
                    break
            else:
                if num and cat:
                    return {"num": num, "cat": cat}
                return {"num": num} if num else {"cat": cat} if cat else None
        typed = _Typed()
        plan = self._plan(tuple(outputs), inputs=False)
        try:
            self._type_values(plan, outputs.values(), typed)
        except _Nested:
            typed = _Typed()
            self._type_nested(outputs, typed, inputs=False)
        return typed.values_object() or None

    # -- documents as bytes --------------------------------------------------------

    def prediction_line(  # noqa: PLR0917 - positional too, as prediction()
        self,
        inputs: dict[Any, Any],
        outputs: object = None,
        latency_ms: object = None,
        prediction_id: object = None,
        labels: Mapping[Any, object] | None = None,
        timestamp: float | dt.datetime | None = None,
        error: BaseException | None = None,
        outcome: str | None = None,
        model: str | None = None,
        model_version: str | None = None,
    ) -> bytes | None:
        """The JSON line of :meth:`prediction`'s document, byte for byte, or None.

        The usual call — a dict of inputs without text inputs, privacy rules
        or nested mappings, no per-call labels, error or model — is written
        without building the document: its fixed parts are bytes made once
        (by the same encoder, from the same objects), and only the call's own
        part (``prediction_id`` to ``invalid``) is serialised, with the same
        typing. Any other call returns None *before* anything changes (no id is
        drawn), and the caller encodes :meth:`prediction`'s document instead.
        A property test holds the two to the same bytes.

        Raises:
            CallError: As :meth:`prediction` does, for a bad timestamp.
        """
        head = self._line_head
        codec = self._codec
        if (
            head is None
            or codec is None
            or labels
            or error is not None
            or model is not None
            or model_version is not None
        ):
            return None
        keys = tuple(inputs)
        plan = self._plans.get(keys) or self._plan(keys, inputs=True)
        if plan.has_specials:
            return None
        flat = self._type_flat(plan.names, inputs.values())
        if flat is None:  # a mapping among the values: flattened by the builder
            return None
        num, cat, null, invalid = flat
        # From here on as prediction(), in its order: the id is drawn first.
        tail: Document = {
            "prediction_id": self._next_id()
            if prediction_id is None
            else self._prediction_id(prediction_id)
        }
        if type(latency_ms) is float and 0.0 <= latency_ms < _MAX_LATENCY_MS:
            latency: float | None = latency_ms
        else:
            latency = _latency(latency_ms)
        if outcome not in OUTCOMES:
            outcome = "success"
        if latency is not None:
            tail["latency_ms"] = latency
            event = self._event_close_timed[outcome] % round(latency * 1e6)
        else:
            event = self._event_close[outcome]
        if num:
            tail["inputs"] = {"num": num, "cat": cat} if cat else {"num": num}
        elif cat:
            tail["inputs"] = {"cat": cat}
        if outputs is not None:
            out = self.type_outputs(outputs)
            if out:
                tail["outputs"] = out
        tail["present"] = plan.present
        if null:
            tail["null"] = null
        if invalid:
            tail["invalid"] = invalid
        when = time.time() if timestamp is None else epoch_seconds(timestamp)
        second, stamp_open = self._stamp_open
        if second == int(when) and when >= 0.0:
            stamp = stamp_open + _MILLIS_BYTES[int((when - second) * 1000.0)]
        else:
            text = self._timestamp(when)
            second, prefix = self.format_timestamp.cached
            self._stamp_open = (second, _TIMESTAMP_OPEN + prefix.encode("ascii"))
            stamp = _TIMESTAMP_OPEN + text.encode("ascii")
        try:
            body = codec(tail)
        except (TypeError, ValueError, UnicodeError):  # e.g. a lone surrogate: repaired
            body = encoding.encode_part(tail)
        return b"".join((stamp, head, event, body[1:], b"}\n"))

    # -- documents ---------------------------------------------------------------

    def prediction(  # noqa: PLR0917 - positional too: the hot path saves the cost of keywords
        self,
        inputs: object,
        outputs: object = None,
        latency_ms: object = None,
        prediction_id: object = None,
        labels: Mapping[Any, object] | None = None,
        timestamp: float | dt.datetime | None = None,
        error: BaseException | None = None,
        outcome: str | None = None,
        model: str | None = None,
        model_version: str | None = None,
    ) -> Document:
        """One prediction document (DESIGN.md §3) from the values of one call.

        The document shares its constant parts (``ecs``, ``data_stream``,
        ``service``, ``mlmon.model``, ``mlmon.present``…) with the other
        documents of this builder: treat it as read-only.

        Args:
            inputs: Mapping of input name → value (nested mappings are flattened).
            outputs: Mapping of output name → value, or a bare value (``prediction``).
            latency_ms: Model latency in milliseconds; left out unless a finite number ≥ 0.
            prediction_id: The caller's id (e.g. its request id); generated when ``None``.
            labels: Flat segments added to the handler's static labels.
            timestamp: When the prediction was made (epoch seconds or datetime);
                now when ``None``.
            error: The exception the model raised: ``event.outcome`` becomes
                ``failure`` and ``error.*`` is filled.
            outcome: ``success``, ``failure`` or ``unknown``, overriding the default.
            model: Model name for this call instead of the handler's.
            model_version: Model version for this call instead of the handler's.
        """
        flat = None
        if type(inputs) is dict:
            keys = tuple(inputs)
            plan = self._plans.get(keys) or self._plan(keys, inputs=True)
            if not plan.has_specials:
                flat = self._type_flat(plan.names, inputs.values())
        if flat is not None:
            num, cat, null, invalid = flat
            present = plan.present
            tokens = token_count = None
            if num:
                values: Document | None = {"num": num, "cat": cat} if cat else {"num": num}
            else:
                values = {"cat": cat} if cat else None
        else:
            typed = _Typed()
            present = self.type_inputs(inputs, typed)
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
        when = time.time() if timestamp is None else epoch_seconds(timestamp)
        second, prefix = self.format_timestamp.cached
        if second == int(when) and when >= 0.0:  # the usual case, inline: same second as before
            stamp = prefix + _MILLIS[int((when - second) * 1000.0)]
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
        text = given if type(given) is str else _raw_text(given)
        return text[:MAX_PREDICTION_ID_CHARS] if text else self.new_id()


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


PREDICTION_ATTR: Final = "mlmon_prediction"
"""``LogRecord`` attribute carrying a :class:`PredictionCall` (set by ``log_prediction``)."""


class PredictionCall(NamedTuple):
    """The values of one ``log_prediction`` call, carried on a ``LogRecord``.

    ``inputs`` is a mapping (one prediction) or a batch (see
    :mod:`mlmon_elk.producer.batches`); the other fields are those of
    :meth:`DocumentBuilder.prediction`. A named tuple: immutable, and four
    times cheaper to make than a frozen dataclass on the logging path.
    """

    inputs: Any
    outputs: Any = None
    latency_ms: Any = None
    prediction_id: Any = None
    labels: Mapping[Any, object] | None = None
    timestamp: float | dt.datetime | None = None
    error: BaseException | None = None
    outcome: str | None = None
    model: str | None = None
    model_version: str | None = None
    feature_names: Sequence[object] | None = None

    def __repr__(self) -> str:  # short: other handlers may print the record's attributes
        return f"PredictionCall(model={self.model!r}, prediction_id={self.prediction_id!r})"
