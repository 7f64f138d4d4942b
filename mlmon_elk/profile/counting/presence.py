"""Which features a document carries: present and null names, and the typed kind of each value.

Presence and nulls come from the handler's ``mlmon.present`` and
``mlmon.null`` arrays (``missing`` would count every document on an unmapped
field); a value's kind from which typed path (``num`` / ``cat`` / ``text``)
holds it. Outputs have no presence list: an output is present when it has a
value of any kind.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from mlmon_elk.contract import Field, Kind, Role, token_count_field, value_field
from mlmon_elk.profile.baseline import FeatureProfile
from mlmon_elk.profile.counting import categorical, numeric
from mlmon_elk.profile.counting.aggregation import Agg, term_counts

PRESENT = "present"
NULL = "null"
CAT_DOCS = "cat_docs"
NUM_VALUES = "num_values"
TEXT_VALUES = "text_values"
"""Aggregation names (the last three after ``<role>:<feature>:``)."""

KINDS_OF_ROLE = {Role.INPUT: (Kind.NUM, Kind.CAT, Kind.TEXT), Role.OUTPUT: (Kind.NUM, Kind.CAT)}


def name_aggregations(inputs: Sequence[str], new_features: int) -> list[Agg]:
    """``terms`` on the present names (the baseline's and up to ``new_features`` more),
    and on the null names among the baseline's inputs."""
    size = len(inputs) + new_features
    aggs = [Agg(PRESENT, {"terms": {"field": Field.PRESENT, "size": size}}, size)]
    if inputs:
        body = {"terms": {"field": Field.NULL, "size": len(inputs), "include": list(inputs)}}
        aggs.append(Agg(NULL, body, len(inputs)))
    return aggs


def parse_names(aggs: Mapping[str, Any]) -> tuple[dict[str, int], dict[str, int], bool]:
    """Present name → documents, null name → documents, and whether names were left out."""
    present = aggs.get(PRESENT) or {}
    truncated = bool(present.get("sum_other_doc_count"))
    return term_counts(present), term_counts(aggs.get(NULL) or {}), truncated


def kinds_aggregations(feature: FeatureProfile, prefix: str) -> list[Agg]:
    """What counts the documents holding a value of each kind of the feature.

    Each typed path holds one value per document, except ``cat`` (a list of
    categories is a keyword array): ``num`` and ``text`` are counted as values
    (``value_count``, nothing at all on an unmapped field), ``cat`` as documents
    (a ``filter`` on ``exists``). A text is witnessed by its token count (a
    plain long every text has, 0 when empty), not by the analysed text field.
    Values the feature's own spec already counts are read from it: a numeric
    feature's ``stats`` count, a coded categorical's ``ncount``. One ``filters``
    of three ``exists`` per feature cost the engine about 12% of a window's
    search (bench/engine_profile.py); these cost about 2%.
    """
    aggs = [Agg(f"{prefix}:{CAT_DOCS}", {"filter": {"exists": {"field": _cat_field(feature)}}}, 0)]
    if _counted_num(feature, prefix) is None:
        body = {"value_count": {"field": value_field(feature.role, Kind.NUM, feature.name)}}
        aggs.append(Agg(f"{prefix}:{NUM_VALUES}", body, 0))
    if Kind.TEXT in KINDS_OF_ROLE[feature.role]:
        body = {"value_count": {"field": token_count_field(feature.name)}}
        aggs.append(Agg(f"{prefix}:{TEXT_VALUES}", body, 0))
    return aggs


def parse_kinds(aggs: Mapping[str, Any], feature: FeatureProfile, prefix: str) -> dict[Kind, int]:
    """Kind → documents with a value of it (kinds without any left out)."""
    counted = _counted_num(feature, prefix)
    if counted is None:
        num = _value(aggs, f"{prefix}:{NUM_VALUES}", "value")
    else:
        num = _value(aggs, *counted)
    counts = {
        Kind.NUM: num,
        Kind.CAT: _value(aggs, f"{prefix}:{CAT_DOCS}", "doc_count"),
        Kind.TEXT: _value(aggs, f"{prefix}:{TEXT_VALUES}", "value"),
    }
    return {kind: n for kind, n in sorted(counts.items()) if n}


def _counted_num(feature: FeatureProfile, prefix: str) -> tuple[str, str] | None:
    """The aggregation (and its key) of the feature's own spec counting its ``num`` values."""
    if feature.numeric is not None:
        return f"{prefix}:{numeric.STATS}", "count"
    if feature.categorical is not None and feature.categorical.coded:
        return f"{prefix}:{categorical.CODED_COUNT}", "value"
    return None


def _value(aggs: Mapping[str, Any], name: str, key: str) -> int:
    return int((aggs.get(name) or {}).get(key) or 0)


def present_and_null(
    feature: FeatureProfile,
    kinds: Mapping[Kind, int],
    present: Mapping[str, int],
    nulls: Mapping[str, int],
) -> tuple[int, int]:
    """A feature's present and null documents: from the name lists for an input, from
    its kinds for an output (the same rule for every source)."""
    if feature.role is Role.INPUT:
        return present.get(feature.name, 0), nulls.get(feature.name, 0)
    return sum(kinds.values()), 0


def _cat_field(feature: FeatureProfile) -> str:
    return value_field(feature.role, Kind.CAT, feature.name)
