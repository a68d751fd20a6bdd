"""``POST /api/bookings/{id}/cancel``: the attendee, the booked mentor or an admin cancels.

The answer carries the refund the cancellation recorded (decided once by the policy in force
when cancelling; ``processes.services.cancellations.refund_decision``);
the refund itself, the Cal.com cancellation and any transfer reversal are done by the process
managers that follow the ledger.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Body, Depends
from pydantic import BaseModel, ConfigDict

from api.auth import Principal, current_principal
from api.dependencies import ApiServices, services
from api.openapi_docs import responses
from api.schemas import LongText

router = APIRouter(prefix="/api")


class CancelRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    reason: LongText | None = None


class RefundView(BaseModel):
    rule: str  # cancelled_by_mentor, free_cancellation, late_cancellation, nothing_paid, ...
    # (late_cancellation: nothing back, and the mentor is paid out after the hold)
    amount: int  # minor units; 0 when nothing is refunded
    currency: str


class CancellationView(BaseModel):
    bookingId: str
    status: str
    cancelledBy: str  # user, mentor, admin or system
    reason: str
    cancelledAt: datetime
    refund: RefundView


@router.post(
    "/bookings/{booking_id}/cancel",
    response_model=CancellationView,
    responses=responses(
        404, 409, 422, s409="Being paid for or booked right now, or the session is over"
    ),
)
def cancel_booking(
    booking_id: UUID,
    principal: Annotated[Principal, Depends(current_principal)],
    c: Annotated[ApiServices, Depends(services)],
    body: Annotated[CancelRequest | None, Body()] = None,
) -> CancellationView:
    cancellation = c.cancellations.cancel(
        booking_id=booking_id,
        user_id=principal.sub,
        role=principal.role,
        reason=body.reason if body is not None else None,
    )
    refund = cancellation.refund
    return CancellationView(
        bookingId=str(cancellation.booking.id),
        status=str(cancellation.booking.status),
        cancelledBy=cancellation.cancelled_by,
        reason=cancellation.reason,
        cancelledAt=cancellation.cancelled_at,
        refund=RefundView(
            rule=str(refund.rule), amount=refund.amount.amount, currency=refund.amount.currency
        ),
    )
