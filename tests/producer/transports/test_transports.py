"""Destination URLs."""

from __future__ import annotations

import pytest

from mlmon_elk.errors import ConfigError
from mlmon_elk.producer.transports import DEFAULT_URL, Destination, parse_url


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("tcp://logstash:5000", Destination("tcp", "logstash", 5000, "/")),
        ("tls://logstash:5000", Destination("tls", "logstash", 5000, "/")),
        ("tcp+tls://logstash:5000", Destination("tls", "logstash", 5000, "/")),
        ("http://logstash:8080/in", Destination("http", "logstash", 8080, "/in")),
        ("https://logstash", Destination("https", "logstash", 443, "/")),
        ("file://logs/p.jsonl", Destination("file", path="logs/p.jsonl")),
        ("file:///var/log/p.jsonl", Destination("file", path="/var/log/p.jsonl")),
        ("stdout", Destination("stdout")),
        (DEFAULT_URL, Destination("file", path="mlmon-logs/predictions.jsonl")),
    ],
)
def test_urls(url: str, expected: Destination) -> None:
    """Each documented URL form parses to its destination."""
    assert parse_url(url) == expected


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("udp://x:1", "expected tcp://"),
        ("tcp://logstash", "host:port"),
        ("tcp://:5000", "host:port"),
        ("tcp://x:notaport", "x:notaport"),
        ("file://logs/", "name a file"),
        ("https://u:p@x:1", "environment"),
    ],
)
def test_bad_urls_say_what_is_wrong(url: str, message: str) -> None:
    """A malformed URL is a ConfigError that says what to write instead."""
    with pytest.raises(ConfigError, match=message):
        parse_url(url)
