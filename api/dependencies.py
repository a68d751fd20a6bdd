"""What the HTTP layer is given by the composition root: services, read queries and secrets.

The API never builds these itself (``mentorpay.bootstrap`` does), so handlers can be served
with any wiring, and nothing here imports the composition root.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import cast

from fastapi import Request

from api.rate_limits import CheckoutRateLimits
from ledger import Ledger
from processes.services.attention import AttentionService
from processes.services.cancellations import CancellationService
from processes.services.checkout import CheckoutService
from processes.services.confirmation import ConfirmationService
from processes.services.no_shows import NoShowService
from processes.services.payouts import PayoutService
from processes.services.reschedule import RescheduleService
from processes.services.slots import SlotService
from processes.services.stripe_events import StripeEventHandler
from projections.event_log import head_position
from projections.follower import Follower
from projections.store import ReadModelStore


@dataclass(frozen=True)
class LifecycleServices:
    """A paid session's life after booking, and what the mentor's earnings are read with."""

    reschedules: RescheduleService
    no_shows: NoShowService
    payout_hold: timedelta
    # None: payments are paid out after the hold alone; else also this long after the session.
    payout_after_session: timedelta | None


@dataclass(frozen=True)
class ApiServices:
    ledger: Ledger
    store: ReadModelStore
    slots: SlotService
    checkout: CheckoutService
    confirmation: ConfirmationService
    cancellations: CancellationService
    stripe_events: StripeEventHandler
    payouts: PayoutService
    read_models: Mapping[str, Follower]  # by name: bookings, payments, journal
    followers: Sequence[Follower]  # read models and process managers, for metrics
    jwt_secret: str
    cron_secret: str
    checkout_limits: CheckoutRateLimits = field(default_factory=CheckoutRateLimits)
    attention: AttentionService | None = None  # the operations' attention queue
    ready_max_lag: int = 1000  # /readyz: a read model further behind the head is not ready
    # Reschedules, no-shows and earnings (``LifecycleServices``); None where not wired.
    lifecycle: LifecycleServices | None = None

    def head_position(self) -> int:
        """The ledger's last notification id (0 for an empty log)."""
        return head_position(self.ledger)


# The dependencies that do no I/O are ``async def``: FastAPI runs a plain ``def`` dependency on
# a worker thread, and that hop per dependency per request cost more CPU than the work itself.
async def services(request: Request) -> ApiServices:
    return cast(ApiServices, request.app.state.services)  # set by create_app
