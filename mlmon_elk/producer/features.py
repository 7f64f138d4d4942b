"""Inputs and outputs as typed features: names, plans, text, privacy rules, nesting.

The full typing path of the document builder. Every value is typed by
:func:`mlmon_elk.producer.values.classify` (the usual flat values through
:func:`~mlmon_elk.producer.fast_typing.type_flat`, which agrees with it),
feature names go through :func:`mlmon_elk.contract.sanitize_name`, text
through :func:`mlmon_elk.producer.tokens.tokenize`.

What repeats from one prediction to the next is cached: the sanitised name
of a key, and the *plan* of a key set (names, text/privacy rules, what is
present). The caches are bounded; they never change what is typed.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from mlmon_elk.contract import with_hash_suffix
from mlmon_elk.producer import values as v
from mlmon_elk.producer.encoding import encode_part
from mlmon_elk.producer.fast_typing import type_flat
from mlmon_elk.producer.names import raw_text, safe_name
from mlmon_elk.producer.settings import DocumentSettings, PrivacyRule
from mlmon_elk.producer.tokens import tokenize

DEFAULT_OUTPUT_NAME: Final = "prediction"
"""Name of the output when the model's output is a bare value rather than a mapping."""

FEW_OUTPUTS: Final = 4
"""Up to this many outputs are typed without a plan (the usual few)."""

MAX_NESTING: Final = 4
"""_Nested mappings deeper than this are invalid features, not flattened further."""

INPUTS_NOT_A_MAPPING: Final = "_inputs"
"""Recorded in ``mlmon.invalid`` when ``inputs`` is neither a mapping nor a batch."""

_NAME_CACHE_SIZE = 20_000
_PLAN_CACHE_SIZE = 2_000


@dataclass(frozen=True, slots=True)
class _Special:
    """An input that is not typed by the fast path: declared text or a privacy rule."""

    text: bool
    rule: PrivacyRule | None


@dataclass(frozen=True, slots=True)
class Plan:
    """What one set of keys (in one order) turns into; computed once per key set."""

    names: tuple[str, ...]
    specials: tuple[_Special | None, ...]
    present: list[str]
    has_specials: bool
    present_json: bytes
    """``,"present":`` and ``present`` as JSON, by the documents' encoder: the
    builder's line splices it instead of serialising the same names on every call."""
    keys_are_names: bool
    """Every key is a ``str`` equal to its name: the builder's line reads the
    mapping's items as they are, without pairing names and values."""


class _Nested(Exception):
    """Raised inside the fast path when a value is a mapping: flatten, then retry."""


class Typed:
    """The typed features of one document, filled by :class:`FeatureTyper`."""

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


class FeatureTyper:
    """Types the inputs and outputs of the documents of one :class:`DocumentSettings`.

    Thread-safe: the caches are only ever grown by whole entries or emptied.
    """

    def __init__(self, settings: DocumentSettings) -> None:
        self.settings = settings
        self._empty_as_null = settings.empty_as_null
        self.names: dict[object, str] = {}
        """Sanitised names of keys (read directly by the builder's hot path)."""
        self.plans: dict[tuple[object, ...], Plan] = {}
        """Plans of input key sets (read directly by the builder's hot path)."""
        self._output_plans: dict[tuple[object, ...], Plan] = {}
        self._specials: dict[str, _Special] = {}
        for name in settings.text_inputs | settings.privacy.keys():
            self._specials[name] = _Special(
                name in settings.text_inputs, settings.privacy.get(name)
            )

    # -- names -------------------------------------------------------------------

    def name(self, raw: object) -> str:
        """Sanitised feature name of a key (cached)."""
        name = self.names.get(raw)
        if name is None:
            name = safe_name(raw)
            if len(self.names) >= _NAME_CACHE_SIZE:
                self.names.clear()
            self.names[raw] = name
        return name

    def plan(self, keys: tuple[object, ...], *, inputs: bool) -> Plan:
        cache = self.plans if inputs else self._output_plans
        plan = cache.get(keys)
        if plan is None:
            plan = self._make_plan([(key, self.name(key)) for key in keys], inputs=inputs)
            if len(cache) >= _PLAN_CACHE_SIZE:
                cache.clear()
            cache[keys] = plan
        return plan

    def _make_plan(self, keyed: Sequence[tuple[object, str]], *, inputs: bool) -> Plan:
        names: list[str] = []
        specials: list[_Special | None] = []
        seen: set[str] = set()
        for raw, base in keyed:
            name = base
            if name in seen:  # two keys sanitise alike within one record
                name = with_hash_suffix(base, raw_text(raw))
                for extra in itertools.count(2):
                    if name not in seen:
                        break
                    name = with_hash_suffix(base, f"{raw_text(raw)}#{extra}")
            seen.add(name)
            names.append(name)
            specials.append(self._specials.get(base) if inputs else None)
        present = [
            name
            for name, special in zip(names, specials, strict=True)
            if special is None or special.rule is None or special.rule.action != "drop"
        ]
        present_json = b',"present":' + encode_part(present)
        keys_are_names = all(
            type(raw) is str and raw == name for (raw, _), name in zip(keyed, names, strict=True)
        )
        return Plan(
            tuple(names), tuple(specials), present, any(specials), present_json, keys_are_names
        )

    # -- typing ------------------------------------------------------------------

    def _type_values(self, plan: Plan, values: Collection[Any], typed: Typed) -> None:
        """Type the values of one key set into ``typed``.

        Raises:
            _Nested: A value is a mapping (the caller flattens and retries).
        """
        if plan.has_specials:
            self._type_values_with_specials(plan, values, typed)
            return
        flat = type_flat(plan.names, values, self._empty_as_null)
        if flat is None:
            raise _Nested
        typed.num, typed.cat, typed.null, typed.invalid = flat

    def _type_values_with_specials(self, plan: Plan, values: Iterable[Any], typed: Typed) -> None:
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

    def _place(self, name: str, special: _Special | None, value: object, typed: Typed) -> None:
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
                dotted = prefix + raw_text(key)
                if isinstance(value, Mapping) and value:
                    if depth + 1 >= MAX_NESTING:
                        out.append((dotted, None, True))
                    else:
                        walk(dotted + ".", value, depth + 1)
                else:
                    out.append((dotted, None if isinstance(value, Mapping) else value, False))

        walk("", mapping, 0)
        return out

    def _type_nested(self, mapping: Mapping[Any, Any], typed: Typed, *, inputs: bool) -> list[str]:
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

    def type_inputs(self, inputs: object, typed: Typed) -> list[str]:
        """Fill ``typed`` from a mapping of inputs; returns ``mlmon.present``."""
        if inputs is None:
            return []
        if type(inputs) is not dict and not isinstance(inputs, Mapping):
            typed.add_invalid(INPUTS_NOT_A_MAPPING)
            return []
        keys = tuple(inputs)
        plan = self.plans.get(keys) or self.plan(keys, inputs=True)
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
        if len(outputs) <= FEW_OUTPUTS:  # the usual few outputs: skip the plan machinery
            num: dict[str, float] = {}
            cat: dict[str, str] = {}
            name_of = self.names.get
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
        typed = Typed()
        plan = self.plan(tuple(outputs), inputs=False)
        try:
            self._type_values(plan, outputs.values(), typed)
        except _Nested:
            typed = Typed()
            self._type_nested(outputs, typed, inputs=False)
        return typed.values_object() or None
