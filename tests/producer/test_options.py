"""Flat keywords grouped by concern: one field in one group per option."""

from __future__ import annotations

import logging
from dataclasses import fields

import pytest

from mlmon_elk import PredictionFormatter, PredictionHandler
from mlmon_elk.errors import ConfigError
from mlmon_elk.producer.options import handler_options, option_names, split_document_options
from mlmon_elk.producer.sender import DeliveryOptions
from mlmon_elk.producer.settings import DocumentOptions
from mlmon_elk.producer.transports import TransportOptions

SHARED = {"namespace"}
"""The only option two groups read: the documents' data stream and the bulk target."""


def test_each_keyword_lands_in_its_group() -> None:
    """A keyword fills the field of its name; every other field keeps its default."""
    grouped = handler_options(
        {"model": "churn", "queue_size": 10, "spool_dir": None, "ca_certs": "/ca.pem"}
    )
    assert grouped.document == DocumentOptions(model="churn")
    assert grouped.delivery == DeliveryOptions(queue_size=10, spool_dir=None)
    assert grouped.transport == TransportOptions(ca_certs="/ca.pem")


def test_the_namespace_reaches_the_documents_and_the_transport() -> None:
    """``namespace`` is the one keyword two groups take."""
    grouped = handler_options({"model": "m", "namespace": "prod"})
    assert grouped.document.namespace == grouped.transport.namespace == "prod"


def test_no_other_option_is_spelled_twice() -> None:
    """Apart from ``namespace`` the groups share no field, so a keyword means one thing."""
    groups = (DocumentOptions, DeliveryOptions, TransportOptions)
    seen: dict[str, int] = {}
    for group in groups:
        for field in fields(group):
            seen[field.name] = seen.get(field.name, 0) + 1
    assert {name for name, count in seen.items() if count > 1} == SHARED


def test_an_unknown_keyword_is_named_with_the_nearest_option() -> None:
    """A typo is a ConfigError naming the keyword and suggesting the option meant."""
    with pytest.raises(ConfigError, match=r"queue_sise: not an option of PredictionHandler; did"):
        handler_options({"model": "m", "queue_sise": 10})
    with pytest.raises(ConfigError, match=r"^colour: not an option of PredictionHandler$"):
        handler_options({"model": "m", "colour": "red"})


def test_the_handler_refuses_unknown_keywords_before_starting() -> None:
    """The constructor maps through the same function: nothing runs on a typo."""
    with pytest.raises(ConfigError, match="close_timout"):
        PredictionHandler("stdout", model="m", close_timout=1.0)


def test_the_handler_passes_each_group_on() -> None:
    """Document options reach the formatter, delivery options the sender."""
    handler = PredictionHandler(
        "stdout", model="churn", max_document_bytes=500, close_timeout=0.5, counters_interval=0
    )
    try:
        assert handler.settings.model == "churn"
        assert handler.formatter.max_document_bytes == 500
        assert handler.delivery.close_timeout == 0.5
    finally:
        handler.close()


def test_the_formatter_keeps_what_is_not_a_document_option() -> None:
    """PredictionFormatter takes the document options flat and gives the rest to
    python-json-logger's JsonFormatter."""
    options, rest = split_document_options({"model": "m", "json_indent": 2})
    assert options == DocumentOptions(model="m")
    assert rest == {"json_indent": 2}
    formatter = PredictionFormatter(model="m", json_indent=2, max_document_bytes=99)
    assert formatter.max_document_bytes == 99
    plain = logging.makeLogRecord({"msg": "hello"})
    assert formatter.format(plain).startswith('{\n  "message": "hello"')


def test_option_names_are_the_fields() -> None:
    """The keywords of a group are exactly its dataclass fields."""
    assert option_names(DeliveryOptions) == {f.name for f in fields(DeliveryOptions)}
    assert "spool_full" in option_names(DeliveryOptions)
