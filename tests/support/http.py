"""HTTP clients for the tests' loopback servers."""

from __future__ import annotations

import functools
import ssl
from typing import Any

import httpx


@functools.cache
def _tls_context() -> ssl.SSLContext:
    # httpx loads the CA bundle for every new client, which is most of a test client's cost
    # (about 15 ms each, and the flow tests open thousands); one context serves them all.
    return httpx.create_ssl_context()


def http_client(**options: Any) -> httpx.Client:
    """An ``httpx.Client`` with ``options``, sharing one TLS context with every other."""
    return httpx.Client(verify=_tls_context(), **options)
