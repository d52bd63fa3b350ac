"""Certificates made at test time (trustme): a CA, a server certificate for 127.0.0.1 and localhost,
a client certificate, and the same from an unrelated CA, all as PEM files."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import trustme


@dataclass(frozen=True)
class CertFiles:
    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    other_ca: Path  # trusts none of the above
    other_client_cert: Path  # signed by other_ca
    other_client_key: Path


def write_certs(folder: Path) -> CertFiles:
    folder.mkdir(parents=True, exist_ok=True)
    ca, other = trustme.CA(), trustme.CA()
    server = ca.issue_cert("127.0.0.1", "localhost")
    client = ca.issue_cert("client@jobmatch.test")
    other_client = other.issue_cert("client@jobmatch.test")

    def write(name: str, data: bytes) -> Path:
        path = folder / name
        path.write_bytes(data)
        return path

    return CertFiles(
        ca=write("ca.pem", ca.cert_pem.bytes()),
        server_cert=write("server.pem", b"".join(blob.bytes() for blob in server.cert_chain_pems)),
        server_key=write("server.key", server.private_key_pem.bytes()),
        client_cert=write("client.pem", b"".join(blob.bytes() for blob in client.cert_chain_pems)),
        client_key=write("client.key", client.private_key_pem.bytes()),
        other_ca=write("other-ca.pem", other.cert_pem.bytes()),
        other_client_cert=write("other-client.pem", b"".join(blob.bytes() for blob in other_client.cert_chain_pems)),
        other_client_key=write("other-client.key", other_client.private_key_pem.bytes()),
    )
