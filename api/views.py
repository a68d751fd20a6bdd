"""Bookings and payments as the HTTP API shows them, from the ledger or from the read model."""

from __future__ import annotations

from typing import Any

from api.schemas import BookingView, PaymentView
from ledger import Booking, Payment


def row_view(row: dict[str, Any]) -> BookingView:
    """A booking as the read model has it (the list's one query, no per-booking ledger read)."""
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
    )
