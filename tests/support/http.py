"""HTTP clients for the tests' loopback servers."""

from __future__ import annotations

from typing import Any

import httpx

from processes.gateways.tls import shared_tls_context


def http_client(**options: Any) -> httpx.Client:
    """An ``httpx.Client`` with ``options`` and the process's one TLS context: httpx loads the
    CA bundle for every new client otherwise, and the flow tests open thousands."""
    return httpx.Client(verify=shared_tls_context(), **options)
