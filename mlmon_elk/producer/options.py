"""A handler's flat keywords, grouped by concern.

``PredictionHandler(...)`` and ``dictConfig`` take the options as flat
keywords; inside they are three frozen groups — what goes into a document
(:class:`~mlmon_elk.producer.settings.DocumentOptions`), how documents are
delivered (:class:`~mlmon_elk.producer.sender.DeliveryOptions`) and how the
transport connects (:class:`~mlmon_elk.producer.transports.TransportOptions`).
A new option is one field of one group; this module finds it by name.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from mlmon_elk.errors import ConfigError
from mlmon_elk.producer.sender import DeliveryOptions
from mlmon_elk.producer.settings import DocumentOptions
from mlmon_elk.producer.transports import TransportOptions

_GROUPS = (DocumentOptions, DeliveryOptions, TransportOptions)


@dataclass(frozen=True)
class HandlerOptions:
    """Every option of a handler, by concern."""

    document: DocumentOptions
    delivery: DeliveryOptions
    transport: TransportOptions


def option_names(group: type[Any]) -> frozenset[str]:
    """The keywords a group takes: the names of its fields."""
    return frozenset(f.name for f in fields(group))


def handler_options(
    keywords: Mapping[str, Any], *, owner: str = "PredictionHandler"
) -> HandlerOptions:
    """Group flat keywords; a keyword goes to every group with a field of its name
    (``namespace`` names the documents' data stream and the bulk transport's target).

    Raises:
        ConfigError: A keyword is no group's field (the message names it and the
            nearest option), or a group rejects its value.
    """
    known = frozenset().union(*(option_names(group) for group in _GROUPS))
    _refuse_unknown(keywords, known, owner)
    return HandlerOptions(
        DocumentOptions(**_fields_of(DocumentOptions, keywords)),
        DeliveryOptions(**_fields_of(DeliveryOptions, keywords)),
        TransportOptions(**_fields_of(TransportOptions, keywords)),
    )


def split_document_options(keywords: Mapping[str, Any]) -> tuple[DocumentOptions, dict[str, Any]]:
    """The document options among ``keywords``, and the keywords left over."""
    names = option_names(DocumentOptions)
    options = DocumentOptions(**_fields_of(DocumentOptions, keywords))
    return options, {name: value for name, value in keywords.items() if name not in names}


def _fields_of(group: type[Any], keywords: Mapping[str, Any]) -> dict[str, Any]:
    names = option_names(group)
    return {name: value for name, value in keywords.items() if name in names}


def _refuse_unknown(keywords: Mapping[str, Any], known: frozenset[str], owner: str) -> None:
    unknown = sorted(name for name in keywords if name not in known)
    if not unknown:
        return
    name = unknown[0]
    nearest = difflib.get_close_matches(name, sorted(known), n=1)
    hint = f"; did you mean {nearest[0]!r}?" if nearest else ""
    msg = f"{name}: not an option of {owner}{hint}"
    raise ConfigError(msg)
