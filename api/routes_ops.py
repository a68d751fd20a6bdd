"""Operations' attention queue over HTTP: parked work, halted read models, payouts failed for
good, failed bookings not refunded. Role ``admin`` only; every retry and resolution is
recorded in the ledger with the caller and the reason."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Body, Depends, Path, Query
from pydantic import BaseModel, ConfigDict

from api.auth import Principal, require_roles
from api.dependencies import ApiServices, services
from api.openapi_docs import responses
from api.problems import Problem
from api.schemas import LongText, single_line
from processes.services.attention import AttentionItem, AttentionService

router = APIRouter(prefix="/api/ops", tags=["operations"])
Admin = Annotated[Principal, Depends(require_roles("admin"))]
ItemId = Annotated[str, Path(min_length=3, max_length=300, pattern=r"^[A-Za-z0-9_.:-]+$")]


class ActionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    reason: LongText


def _service(c: ApiServices) -> AttentionService:
    if c.attention is None:
        raise Problem(503, "Service Unavailable", "the attention queue is not wired here")
    return c.attention


class AttentionActionView(BaseModel):
    action: str  # retry | resolve
    by: str  # role:subject of who asked
    reason: str


class AttentionItemView(BaseModel):
    """One item as ``AttentionItem.as_dict`` gives it (the CLI's ``--json`` too)."""

    id: str  # work:<process>:<position>, halt:<name>, payout:<payment>, refund:<booking>, ...
    kind: str  # parked-work | halted-read-model | payout-failed | refund-missing | no-show-claim
    status: str  # open | resolved
    subject: str
    detail: str
    since: datetime | None
    bookingId: str | None
    paymentId: str | None
    process: str | None
    position: int | None
    attempts: int | None
    actions: list[AttentionActionView]


class AttentionListView(BaseModel):
    items: list[AttentionItemView]
    limit: int  # items of each kind listed at most
    offset: int  # items of each kind skipped
    truncated: list[str]  # kinds with open items past ``offset + limit``: the next page


Kind = Literal[
    "halted-read-model", "parked-work", "payout-failed", "refund-missing", "no-show-claim"
]


def _view(item: AttentionItem) -> AttentionItemView:
    return AttentionItemView.model_validate({**item.as_dict(), "since": item.since})


def _by(principal: Principal) -> str:
    return single_line(f"{principal.role}:{principal.sub}")


@router.get(
    "/attention", response_model=AttentionListView, responses=responses(403, s403="Only an admin")
)
def list_attention(
    _: Admin,
    c: Annotated[ApiServices, Depends(services)],
    kind: Annotated[Kind | None, Query(description="only this kind's items")] = None,
    offset: Annotated[int, Query(ge=0, le=1_000_000, description="items of each kind to skip")] = 0,
) -> AttentionListView:
    """Everything that needs a person, oldest first within each kind: at most `limit` items
    of each kind (500) after `offset` of each. `truncated` names the kinds with more: ask
    again with `kind` and `offset` + `limit`. An item is also shown, retried and resolved by
    its id."""
    listing = _service(c).listing(kind=kind, offset=offset)
    return AttentionListView(
        items=[_view(item) for item in listing.items],
        limit=listing.limit,
        offset=listing.offset,
        truncated=list(listing.truncated),
    )


@router.get(
    "/attention/{item_id}",
    response_model=AttentionItemView,
    responses=responses(403, 404, s403="Only an admin", s404="No such open item"),
)
def show_attention(
    _: Admin, c: Annotated[ApiServices, Depends(services)], item_id: ItemId
) -> AttentionItemView:
    return _view(_service(c).get(item_id))


@router.post(
    "/attention/{item_id}/retry",
    response_model=AttentionItemView,
    responses=responses(
        403, 404, 409, s403="Only an admin", s404="No such open item", s409="Cannot be retried"
    ),
)
def retry_attention(
    principal: Admin,
    c: Annotated[ApiServices, Depends(services)],
    item_id: ItemId,
    body: Annotated[ActionRequest, Body()],
) -> AttentionItemView:
    """Try again once the cause is fixed; recorded in the ledger (who, when, why)."""
    return _view(_service(c).retry(item_id, by=_by(principal), reason=body.reason))


@router.post(
    "/attention/{item_id}/resolve",
    response_model=AttentionItemView,
    responses=responses(
        403,
        404,
        409,
        s403="Only an admin",
        s404="No such open item",
        s409="Cannot be resolved (a halted read model is retried or replayed)",
    ),
)
def resolve_attention(
    principal: Admin,
    c: Annotated[ApiServices, Depends(services)],
    item_id: ItemId,
    body: Annotated[ActionRequest, Body()],
) -> AttentionItemView:
    """Close the item without another try (say, refunded by hand); recorded in the ledger."""
    return _view(_service(c).resolve(item_id, by=_by(principal), reason=body.reason))
