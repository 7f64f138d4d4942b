"""The stack fixtures (fake Kibana) are shared with the CLI tests."""

from __future__ import annotations

from tests.stack.conftest import kibana

__all__ = ["kibana"]
