"""A throw-away certificate authority for TLS tests (made with the openssl command)."""

from __future__ import annotations

import shutil
import ssl
import subprocess
from dataclasses import dataclass
from pathlib import Path

_LEAF_EXT = (
    "basicConstraints=critical,CA:FALSE\n"
    "keyUsage=critical,digitalSignature\n"
    "extendedKeyUsage=serverAuth,clientAuth\n"
    "subjectKeyIdentifier=hash\n"
    "authorityKeyIdentifier=keyid,issuer\n"
    "subjectAltName={san}\n"
)


@dataclass(frozen=True)
class Certificates:
    """A CA, two server certificates it signed (for 127.0.0.1/localhost and for another
    host), a client certificate it signed, and a self-signed client certificate."""

    ca: Path
    cert: Path
    key: Path
    other_cert: Path
    other_key: Path
    client_cert: Path
    client_key: Path
    stranger_cert: Path
    """A client certificate no CA here signed (its key is ``stranger_key``)."""
    stranger_key: Path

    def server_context(
        self, *, other_host: bool = False, require_client_cert: bool = False
    ) -> ssl.SSLContext:
        """A server-side TLS context presenting one of the certificates.

        With ``require_client_cert`` it asks every client for a certificate signed
        by the CA and refuses the handshake without one, as Logstash's tcp and
        beats inputs do with ``ssl_client_authentication => "required"``.
        """
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        if other_host:
            context.load_cert_chain(self.other_cert, self.other_key)
        else:
            context.load_cert_chain(self.cert, self.key)
        if require_client_cert:
            context.verify_mode = ssl.CERT_REQUIRED
            context.load_verify_locations(self.ca)
        return context


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_certificates(directory: Path) -> Certificates:
    """Create the CA and the certificates in ``directory`` (EC keys: fast)."""
    if shutil.which("openssl") is None:  # pragma: no cover - openssl is a test requirement
        msg = "the openssl command is needed for TLS tests"
        raise RuntimeError(msg)
    curve = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")
    _openssl(
        "req",
        "-x509",
        *curve,
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=mlmon test CA",
        "-config",
        "/dev/null",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
        cwd=directory,
    )
    leaves = (
        ("server", "DNS:localhost,IP:127.0.0.1"),
        ("other", "DNS:other.example"),
        ("client", "DNS:mlmon-app"),
    )
    for name, san in leaves:
        (directory / f"{name}.ext").write_text(_LEAF_EXT.format(san=san))
        _openssl(
            "req",
            *curve,
            "-keyout",
            f"{name}.key",
            "-out",
            f"{name}.csr",
            "-subj",
            f"/CN={name}",
            "-config",
            "/dev/null",
            cwd=directory,
        )
        _openssl(
            "x509",
            "-req",
            "-in",
            f"{name}.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            f"{name}.pem",
            "-days",
            "2",
            "-extfile",
            f"{name}.ext",
            cwd=directory,
        )
    _openssl(
        "req",
        "-x509",
        *curve,
        "-keyout",
        "stranger.key",
        "-out",
        "stranger.pem",
        "-days",
        "2",
        "-subj",
        "/CN=stranger",
        "-config",
        "/dev/null",
        cwd=directory,
    )
    return Certificates(
        ca=directory / "ca.pem",
        cert=directory / "server.pem",
        key=directory / "server.key",
        other_cert=directory / "other.pem",
        other_key=directory / "other.key",
        client_cert=directory / "client.pem",
        client_key=directory / "client.key",
        stranger_cert=directory / "stranger.pem",
        stranger_key=directory / "stranger.key",
    )
