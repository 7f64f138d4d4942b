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
from mlmon_elk.profile.counting.aggregation import Agg, term_counts

PRESENT = "present"
NULL = "null"
KINDS = "kinds"
"""Aggregation names (``kinds`` after ``<role>:<feature>:``)."""

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


def kinds_aggregation(feature: FeatureProfile, prefix: str) -> Agg:
    """``filters``: documents with a value under each typed path of the feature."""
    kinds = KINDS_OF_ROLE[feature.role]
    filters = {str(kind): {"exists": {"field": _kind_field(feature, kind)}} for kind in kinds}
    return Agg(f"{prefix}:{KINDS}", {"filters": {"filters": filters}}, len(kinds))


def parse_kinds(aggs: Mapping[str, Any], prefix: str) -> dict[Kind, int]:
    """Kind → documents with a value of it (kinds without any left out)."""
    buckets = (aggs.get(f"{prefix}:{KINDS}") or {}).get("buckets") or {}
    return {Kind(k): int(b["doc_count"]) for k, b in sorted(buckets.items()) if b["doc_count"]}


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


def _kind_field(feature: FeatureProfile, kind: Kind) -> str:
    # Every text value has a token count (0 for an empty text), which is a
    # plain long; the analysed text field itself is a poor witness of presence.
    if kind is Kind.TEXT:
        return token_count_field(feature.name)
    return value_field(feature.role, kind, feature.name)
