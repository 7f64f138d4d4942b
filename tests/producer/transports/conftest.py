"""Fixtures of the transport tests."""

from __future__ import annotations

import pytest

from tests.tls import Certificates, make_certificates


@pytest.fixture(scope="session")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    """A test CA with server certificates (one for 127.0.0.1, one for another host)."""
    return make_certificates(tmp_path_factory.mktemp("tls"))
