"""Random object ids with Stripe's prefixes (``pi_...``, ``cs_test_...``)."""

from __future__ import annotations

import secrets
import string

_ALPHABET = string.ascii_letters + string.digits


def new_id(prefix: str, length: int = 24) -> str:
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(length))


def new_secret(owner_id: str) -> str:
    """A client secret in Stripe's ``<id>_secret_<random>`` form."""
    return f"{owner_id}_secret_{new_id('', 25)}"
