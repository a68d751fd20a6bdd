"""Who may see and act on a booking: one rule for reading, listing, confirming and cancelling.

The attendee acting as ``user``, the booked mentor acting as ``mentor``, and any ``admin``.
Everyone else (another user, another mentor, finance, a mentor who is also the attendee but
signed in as mentor...) is told the booking does not exist, so ids cannot be probed.
"""

from __future__ import annotations

from typing import Literal

from ledger import Booking
from processes.services.errors import NotFound

Party = Literal["user", "mentor", "admin"]


def party_to(role: str, sub: str, *, user_id: str, mentor_id: str) -> Party | None:
    """The part ``sub`` plays in a booking of ``user_id`` with ``mentor_id``, if any."""
    if role == "admin":
        return "admin"
    if role == "user" and sub == user_id:
        return "user"
    if role == "mentor" and sub == mentor_id:
        return "mentor"
    return None


def require_party(booking: Booking, role: str, sub: str) -> Party:
    """The caller's part in ``booking``; ``NotFound`` when it has none."""
    party = party_to(role, sub, user_id=booking.user_id, mentor_id=booking.mentor_id)
    if party is None:
        raise NotFound("no such booking")
    return party
