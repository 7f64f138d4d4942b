"""Fixtures of the transport tests."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.tls import Certificates, make_certificates


@pytest.fixture(scope="session")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    """A test CA with server certificates (one for 127.0.0.1, one for another host)."""
    return make_certificates(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def many_descriptors() -> Iterator[int]:
    """Descriptors held open so that the next socket is numbered beyond 1,024, the most
    ``select`` takes (a serving app with many connections or files open); the number."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 1_200
    if soft < wanted:
        if hard != resource.RLIM_INFINITY and hard < wanted:
            pytest.skip(f"this machine allows {hard} open files, fewer than {wanted}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    held = [os.open(os.devnull, os.O_RDONLY) for _ in range(1_100)]
    try:
        yield max(held)
    finally:
        for fd in held:
            os.close(fd)
        if soft < wanted:
            resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
