"""Bookings and payments as the HTTP API shows them, from the ledger or from the read model."""

from __future__ import annotations

from typing import Any

from api.schemas import BookingView, NoShowState, PaymentView
from ledger import Booking, Payment


def claim_state(claim: dict[str, Any] | None) -> NoShowState | None:
    """A row of the ``no_show_claims`` read model as the API shows it."""
    if claim is None:
        return None
    return NoShowState(
        party=claim["party"], reportedBy=claim["reported_by"], outcome=claim["status"]
    )


def row_view(row: dict[str, Any], claim: dict[str, Any] | None = None) -> BookingView:
    """A booking as the read models have it (the list's queries, no per-booking ledger read)."""
    return BookingView(
        id=row["id"],
        status=row["status"],
        userId=row["user_id"],
        mentorId=row["mentor_id"],
        eventTypeId=row["event_type_id"],
        start=row["start_time"],
        end=row["end_time"],
        attendeeName=row["attendee_name"],
        attendeeEmail=row["attendee_email"],
        attendeeTimeZone=row["attendee_time_zone"],
        amount=row["amount"],
        currency=row["currency"],
        checkoutSessionId=row["checkout_session_id"],
        calcomBookingUid=row["calcom_booking_uid"],
        failureReason=row["failure_reason"],
        createdAt=row["created_at"],
        noShow=claim_state(claim),
    )


def payment_view(payment: Payment) -> PaymentView:
    return PaymentView(
        id=str(payment.id),
        paymentIntentId=payment.payment_intent_id,
        amount=payment.amount,
        currency=payment.currency,
        status=str(payment.status),
        amountRefunded=payment.refunded_amount,
        paidAt=payment.paid_at,
    )


def booking_view(booking: Booking, payment: PaymentView | None = None) -> BookingView:
    request = booking.request
    return BookingView(
        id=str(booking.id),
        status=str(booking.status),
        userId=request.user_id,
        mentorId=request.mentor_id,
        eventTypeId=request.event_type_id,
        start=request.start,
        end=request.end,
        attendeeName=request.attendee_name,
        attendeeEmail=request.attendee_email,
        attendeeTimeZone=request.attendee_time_zone,
        amount=request.price_amount,
        currency=request.currency,
        checkoutSessionId=request.checkout_session_id,
        calcomBookingUid=booking.calcom_booking_uid,
        failureReason=booking.failure_reason,
        createdAt=booking.created_on,
        payment=payment,
        noShow=_no_show(booking),
    )


def _no_show(booking: Booking) -> NoShowState | None:
    if booking.no_show_party is None or booking.no_show_by is None:
        return None
    return NoShowState(
        party=booking.no_show_party,
        reportedBy=booking.no_show_by,
        outcome=booking.no_show_outcome or "",
    )
