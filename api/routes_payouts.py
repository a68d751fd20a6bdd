"""``POST /api/cron/process-payouts``: a scheduler outside the process triggers a payout run.

The caller proves itself with ``Authorization: Bearer <MENTORPAY_CRON_SECRET>``, compared in
constant time; anything else is a 401 before any work is done.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import APIRouter, Depends, Header
from pydantic import BaseModel

from api.dependencies import ApiServices, services
from api.openapi_docs import responses
from api.problems import Problem

router = APIRouter(prefix="/api", tags=["payouts"])


class PayoutRunView(BaseModel):
    eligible: int
    paidOut: int
    failed: int
    failures: list[str]
    # Due payments not begun because the server is shutting down or the run lost its lock;
    # still due for the next run.
    left: int


async def require_cron_secret(  # async: no I/O (api/dependencies.py)
    c: Annotated[ApiServices, Depends(services)],
    authorization: Annotated[str | None, Header()] = None,
) -> None:
    expected = c.cron_secret.encode()
    scheme, _, presented = (authorization or "").partition(" ")
    # compare_digest on bytes: a str with non-ASCII characters would raise instead of failing.
    valid = (
        bool(expected)  # an empty configured secret must not let an empty token in
        and scheme.lower() == "bearer"
        and hmac.compare_digest(presented.strip().encode(), expected)
    )
    if not valid:
        raise Problem(
            401,
            "Unauthorized",
            "A valid cron secret is required: Authorization: Bearer <MENTORPAY_CRON_SECRET>.",
            headers={"WWW-Authenticate": "Bearer"},
        )


@router.post(
    "/cron/process-payouts",
    response_model=PayoutRunView,
    dependencies=[Depends(require_cron_secret)],
    responses=responses(
        401,
        503,
        s401="Not the cron secret",
        s503="Nothing done: the payments read model lags, or the server is shutting down while"
        " another run holds the lock",
    ),
)
def process_payouts(c: Annotated[ApiServices, Depends(services)]) -> PayoutRunView:
    """Run the payouts once now (waits while another run is in progress) and return counts."""
    # A shutdown of the server during the run (or the loss of its lock) stops it early: the
    # payouts in flight finish and ``left`` counts the due payments it did not begin (the next
    # run pays them).
    result = c.payouts.run()
    return PayoutRunView(
        eligible=result.eligible,
        paidOut=result.paid_out,
        failed=result.failed,
        failures=list(result.failures),
        left=result.left,
    )
