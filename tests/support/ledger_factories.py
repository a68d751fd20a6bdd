"""Builders for ledger commands with sensible data, so each test states only what matters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from ledger import Ledger, Money, PaymentRecorded

T0 = datetime(2030, 1, 7, 9, 0, tzinfo=UTC)
HOLD = timedelta(hours=72)
PRICE = Money(7500, "usd")
FEE = Money(750, "usd")
MENTOR = "mentor-ada"


def booking_fields(**overrides: Any) -> dict[str, Any]:
    """Keyword arguments for ``Ledger.request_booking`` (a fresh booking id unless given)."""
    fields: dict[str, Any] = {
        "booking_id": uuid4(),
        "user_id": "user-1",
        "mentor_id": MENTOR,
        "event_type_id": 1001,
        "start": T0 + timedelta(days=3),
        "end": T0 + timedelta(days=3, minutes=30),
        "attendee_name": "Grace Hopper",
        "attendee_email": "grace@example.com",
        "attendee_time_zone": "Europe/Berlin",
        "price": PRICE,
        "platform_fee": FEE,
        "checkout_session_id": f"cs_test_{uuid4().hex[:12]}",
        "reservation_uid": f"res_{uuid4().hex[:12]}",
        "expires_at": T0 + timedelta(minutes=30),
    }
    fields.update(overrides)
    return fields


def request_booking(ledger: Ledger, **overrides: Any) -> UUID:
    fields = booking_fields(**overrides)
    ledger.request_booking(**fields)
    return fields["booking_id"]


def pay(
    ledger: Ledger,
    booking_id: UUID,
    *,
    pi: str | None = None,
    amount: Money = PRICE,
    paid_at: datetime = T0,
) -> PaymentRecorded:
    pi = pi or f"pi_{uuid4().hex[:16]}"
    return ledger.record_payment(
        payment_intent_id=pi,
        charge_id=f"ch_{pi}",
        amount=amount,
        booking_id=booking_id,
        paid_at=paid_at,
    )


def paid_booking(ledger: Ledger, **overrides: Any) -> tuple[UUID, UUID]:
    """A booking paid and awaiting its Cal.com booking (PENDING): (booking_id, payment_id)."""
    booking_id = request_booking(ledger, **overrides)
    price = ledger.get_booking(booking_id).price
    return booking_id, pay(ledger, booking_id, amount=price).payment_id


def accepted_booking(ledger: Ledger, **overrides: Any) -> tuple[UUID, UUID]:
    """A paid and booked session (ACCEPTED): (booking_id, payment_id)."""
    booking_id, payment_id = paid_booking(ledger, **overrides)
    ledger.record_booked(booking_id=booking_id, calcom_booking_uid=f"cal_{booking_id.hex[:8]}")
    return booking_id, payment_id


def paid_out(ledger: Ledger, **overrides: Any) -> tuple[UUID, UUID]:
    """A session whose mentor share has been transferred: (booking_id, payment_id)."""
    booking_id, payment_id = accepted_booking(ledger, **overrides)
    payment = ledger.mark_payout_eligible(
        payment_id=payment_id, destination_account="acct_ada", now=T0 + HOLD, hold=HOLD
    )
    assert payment.transfer_amount is not None
    ledger.record_paid_out(
        payment_id=payment_id,
        transfer_id=f"tr_{payment_id.hex[:12]}",
        amount=Money(payment.transfer_amount, payment.currency),
    )
    return booking_id, payment_id


def position(ledger: Ledger) -> int:
    """The store's last notification id (0 when empty)."""
    return ledger.recorder.max_notification_id() or 0


def stored_topics(ledger: Ledger, after: int = 0) -> list[str]:
    return [n.topic for n in ledger.recorder.select_notifications(start=after + 1, limit=10_000)]
