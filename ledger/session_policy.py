"""A session's policy: the cancellation and reschedule rules of its event type.

Each event type in the catalogue may set its own; what it leaves out comes from the settings
(``SessionPolicy`` defaults are the settings' defaults). The policy in force when a booking is
paid is recorded with the payment (``Booking.PolicyFixed``, same transaction), and everything
later (a cancellation's refund, a reschedule's cut-off) reads the recorded one, so changing the
catalogue never changes what an already paid booking gets.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from ledger.errors import LedgerValidationError


@dataclass(frozen=True)
class SessionPolicy:
    # The attendee is refunded in full when cancelling at least this long before the start.
    free_cancel_hours: int = 24
    # Later than that, the attendee gets this percentage back (0: nothing; the mentor keeps it).
    late_cancel_refund_percent: int = 0
    # A booking may be moved up to this long before its start, at most this many times.
    reschedule_cutoff_hours: int = 24
    max_reschedules: int = 1

    def __post_init__(self) -> None:
        for name, value in self.as_fields().items():
            if type(value) is not int or value < 0:
                raise LedgerValidationError(f"{name} must be a non-negative integer")
        if self.late_cancel_refund_percent > 100:
            raise LedgerValidationError("late_cancel_refund_percent must be at most 100")

    def as_fields(self) -> dict[str, Any]:
        # Flat ints: a copy of the instance's dict, not ``asdict``'s recursive deep copy
        # (built on every payment recorded, twice).
        return dict(vars(self))


class PolicySource(Protocol):
    """Where the ledger finds the policy in force for an event type (the catalogue)."""

    def policy_for(self, event_type_id: int) -> SessionPolicy: ...


@dataclass(frozen=True)
class FixedPolicies:
    """One policy for every event type (the settings' defaults; tests)."""

    policy: SessionPolicy = SessionPolicy()

    def policy_for(self, event_type_id: int) -> SessionPolicy:
        return self.policy
