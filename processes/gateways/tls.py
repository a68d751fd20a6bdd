"""The TLS context every httpx client of a process shares."""

from __future__ import annotations

import functools
import ssl

import httpx


@functools.cache
def shared_tls_context() -> ssl.SSLContext:
    """httpx's own default (certifi, or SSL_CERT_FILE/DIR), made once a process rather than
    once a client: loading the certificates takes a fifth of a second; clients may share it."""
    return httpx.create_ssl_context()
