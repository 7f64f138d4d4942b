"""Fixtures for the Elastic stack assets: a running fake Kibana with credentials."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.stack.fake_kibana import FakeKibana, basic, running

KIBANA_USER = "elastic"
KIBANA_PASSWORD = "a-kibana-password"


@pytest.fixture
def kibana(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeKibana]:
    """A fake Kibana on a loopback port that only accepts the credentials in the environment."""
    for name in (
        "MLMON_KIBANA_API_KEY",
        "MLMON_ES_API_KEY",
        "MLMON_ES_USERNAME",
        "MLMON_ES_PASSWORD",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MLMON_KIBANA_USERNAME", KIBANA_USER)
    monkeypatch.setenv("MLMON_KIBANA_PASSWORD", KIBANA_PASSWORD)
    with running(FakeKibana(credentials=basic(KIBANA_USER, KIBANA_PASSWORD))) as fake:
        yield fake
