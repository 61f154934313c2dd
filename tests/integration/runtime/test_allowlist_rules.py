"""How allowlist entries match hosts, and SNI extraction (pure functions, no cage)."""

from __future__ import annotations

import ssl

import pytest

from caged_platform.runtime.netproxy import Allowlist, tls_sni

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(
    ("entries", "host", "port", "allowed"),
    [
        (["pypi.org"], "pypi.org", 443, True),
        (["pypi.org"], "PyPI.org.", 80, True),
        (["pypi.org"], "files.pypi.org", 443, False),
        (["*.pythonhosted.org"], "files.pythonhosted.org", 443, True),
        (["*.pythonhosted.org"], "pythonhosted.org", 443, False),
        (["*.pythonhosted.org"], "evilpythonhosted.org", 443, False),
        (["*.example.com:443"], "a.b.example.com", 443, True),
        (["*.example.com:443"], "a.example.com", 80, False),
        (["example.com:8443"], "example.com", 8443, True),
        (["example.com:8443"], "example.com", 443, False),
        (["https://example.com/path"], "example.com", 443, True),
        (["[::1]:8080"], "::1", 8080, True),
        (["127.0.0.1"], "localhost", 80, False),
        ([], "anything", 80, False),
    ],
)
def test_allowlist_matching(entries: list[str], host: str, port: int, allowed: bool) -> None:
    assert Allowlist(entries).allows(host, port) is allowed


def test_sni_is_read_from_a_real_client_hello() -> None:
    context = ssl.create_default_context()
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    client = context.wrap_bio(incoming, outgoing, server_hostname="api.example.org")
    with pytest.raises(ssl.SSLWantReadError):
        client.do_handshake()
    assert tls_sni(outgoing.read()) == "api.example.org"
    assert tls_sni(b"GET / HTTP/1.1\r\n\r\n") is None
