"""The attention queue: everything that needs a person, one list, with retry and resolve.

Items, each with a stable id:

- ``work:<process>:<position>``: work a process manager parked (failed for good, or out of
  attempts), e.g. a refund Stripe refuses for good or a Cal.com refusal that is not a slot
  refusal. Retry queues it again (after the cause is fixed); resolve closes it.
- ``halt:<read model>``: a read model halted on an event it cannot apply. Retry clears the
  halt so it tries again (after a fix); it cannot be resolved, since that would skip an event.
- ``payout:<payment id>``: a payout that failed for good (e.g. the mentor's Stripe account
  could not receive it). Retry pays it out now (once the mentor's account is fixed).
- ``refund:<booking id>``: a failed booking whose payment was not refunded. Retry runs the
  refund work for that booking again.
- ``no-show:<booking id>``: an attendee says the mentor did not show; the payout is held until
  an admin decides (``POST /api/bookings/{id}/no-show/decision``: refund in full, reversing a
  transfer already made, or release the payout). The decision is recorded in the ledger
  (``Booking.NoShowDecided``) and closes the item; retry and resolve point there instead.

Every retry and resolution is first recorded in the ledger (``Attention`` events: who, when,
why), then acted on; a resolved derived item (payout, refund) is no longer listed.

A listing shows at most ``LIST_LIMIT`` open items of each kind, oldest first, and names the kinds
that have more (``AttentionListing.truncated``); later items are paged to by ``offset`` (of each
kind, or of the one asked for). The resolved derived items, which stay in their read model (a
resolved payout is still a failed one there), are paged past, so they never crowd out open ones.
Retry and resolve look an item up by its id, so an item beyond a page can still be acted on.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

from ledger import Attention, Booking, Ledger
from processes.services.errors import NotFound, ServiceError
from processes.services.payouts import PayoutService
from projections import attention as queries
from projections import halts, no_shows, work_queue
from projections.store import ReadModelStore, StoreError, Transaction

T = TypeVar("T")
log = logging.getLogger(__name__)

# Open items of each kind a listing shows at most, oldest first.
LIST_LIMIT = 500

PARKED_WORK, HALTED, PAYOUT_FAILED, REFUND_MISSING, NO_SHOW_CLAIM = (
    "parked-work",
    "halted-read-model",
    "payout-failed",
    "refund-missing",
    "no-show-claim",
)
KINDS = (HALTED, PARKED_WORK, PAYOUT_FAILED, REFUND_MISSING, NO_SHOW_CLAIM)


class NotAllowed(ServiceError):
    status = 409
    title = "Not allowed for this item"


@dataclass(frozen=True)
class AttentionItem:
    id: str
    kind: str
    subject: str  # the booking, payment or read model it is about
    detail: str
    since: datetime | None
    booking_id: str | None = None
    payment_id: str | None = None
    process: str | None = None
    position: int | None = None
    attempts: int | None = None
    status: str = "open"
    actions: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """The item as the HTTP API and ``attention list --json`` show it."""
        return {
            "id": self.id,
            "kind": self.kind,
            "status": self.status,
            "subject": self.subject,
            "detail": self.detail,
            "since": self.since.isoformat() if self.since else None,
            "bookingId": self.booking_id,
            "paymentId": self.payment_id,
            "process": self.process,
            "position": self.position,
            "attempts": self.attempts,
            "actions": self.actions,
        }


@dataclass(frozen=True)
class AttentionListing:
    """What a listing shows: each kind's oldest open items from ``offset`` on, at most
    ``limit`` of each, and the kinds that have more open items past those."""

    items: list[AttentionItem]
    limit: int
    offset: int
    truncated: tuple[str, ...]  # kinds with open items past ``offset + limit``


class AttentionService:
    def __init__(self, ledger: Ledger, store: ReadModelStore, payouts: PayoutService) -> None:
        self._ledger = ledger
        self._store = store
        self._payouts = payouts

    def open_items(self) -> list[AttentionItem]:
        return self.listing().items

    def listing(self, *, kind: str | None = None, offset: int = 0) -> AttentionListing:
        """The open items, oldest first within each kind (only ``kind``'s when given), at most
        ``LIST_LIMIT`` of each after skipping ``offset`` of each: the next page is at
        ``offset + limit``. One more than a page is read, to tell whether a kind has more."""
        if kind is not None and kind not in KINDS:
            raise ValueError(f"unknown kind {kind!r}")
        if offset < 0:
            raise ValueError("offset must not be negative")
        limit = LIST_LIMIT
        page = slice(offset, offset + limit + 1)
        wanted = page.stop

        # Parked work, halts and claims carry their own state: their page is cut from the rows,
        # before any item's ``Attention`` record is read. A payout or a refund is closed in the
        # ledger, so the items before the page must be read to know which are still open.
        def own(
            what: str,
            query: Callable[[Transaction], list[T]],
            item_of: Callable[[T], AttentionItem],
        ) -> Callable[[], list[AttentionItem]]:
            return lambda: self._opened(map(item_of, self._read(what, query)[page]))

        def derived(
            what: str,
            rows: Callable[[Transaction, int], list[T]],
            item_of: Callable[[T], AttentionItem],
        ) -> Callable[[], list[AttentionItem]]:
            return lambda: self._unresolved(what, rows, item_of, wanted)[page]

        reads = {
            HALTED: own("halts", halts.all_halts, _halt_item),
            PARKED_WORK: own("parked work", lambda tx: work_queue.parked(tx, wanted), _work_item),
            PAYOUT_FAILED: derived(
                "failed payouts",
                lambda tx, skip: queries.failed_payouts(tx, limit, offset=skip),
                _payout_item,
            ),
            REFUND_MISSING: derived(
                "missing refunds",
                lambda tx, skip: queries.missing_refunds(tx, limit, offset=skip),
                _refund_item,
            ),
            NO_SHOW_CLAIM: own(
                "no-show claims", lambda tx: no_shows.open_claims(tx, wanted), _claim_item
            ),
        }
        pages = {name: read() for name, read in reads.items() if kind in (None, name)}
        return AttentionListing(
            items=[item for items in pages.values() for item in items[:limit]],
            limit=limit,
            offset=offset,
            truncated=tuple(name for name, items in pages.items() if len(items) > limit),
        )

    def _unresolved(
        self,
        what: str,
        page: Callable[[Transaction, int], list[T]],
        item_of: Callable[[T], AttentionItem],
        wanted: int,
    ) -> list[AttentionItem]:
        """Up to ``wanted`` items not resolved in the ledger, oldest first: pages of the read
        model's rows until enough are open (resolved ones stay in the read model)."""
        found: list[AttentionItem] = []
        offset = 0
        while len(found) < wanted:
            rows = self._read(what, lambda tx: page(tx, offset))  # noqa: B023 - called at once
            found += self._opened(map(item_of, rows))
            if len(rows) < LIST_LIMIT:  # a short page: the read model has no more
                break
            offset += len(rows)
        return found[:wanted]

    def _read(self, what: str, query: Callable[[Transaction], list[T]]) -> list[T]:
        """One query in a transaction of its own; nothing while its tables do not exist yet
        (no worker has run)."""
        return self._read_one(what, query) or []

    def _read_one(self, what: str, query: Callable[[Transaction], T | None]) -> T | None:
        try:
            with self._store.transaction(readonly=True) as tx:
                return query(tx)
        except StoreError as error:
            log.info("attention queue: %s not read: %s", what, error)
            return None

    def get(self, key: str) -> AttentionItem:
        """The open item ``key``, looked up by its id (listed or beyond the listing's limit)."""
        found = self._lookup(key)
        item = self._if_open(found) if found is not None else None
        if item is None:
            raise NotFound(f"no open attention item {key!r}")
        return item

    def _lookup(self, key: str) -> AttentionItem | None:
        prefix, _, subject = key.partition(":")
        found: list[AttentionItem] = []
        if prefix == "halt":
            halt = self._read_one("halts", lambda tx: halts.get(tx, subject))
            found = [_halt_item(halt)] if halt is not None else []
        elif prefix == "work":
            try:
                process, position = work_queue.parse_item_key(subject)
            except ValueError:
                return None
            work = self._read_one("parked work", lambda tx: work_queue.get(tx, process, position))
            if work is not None and work.status == work_queue.PARKED:
                found = [_work_item(work)]
        elif prefix == "payout":
            payouts = self._read(
                "failed payouts", lambda tx: queries.failed_payouts(tx, 1, payment_id=subject)
            )
            found = [_payout_item(p) for p in payouts]
        elif prefix == "refund":
            refunds = self._read(
                "missing refunds", lambda tx: queries.missing_refunds(tx, 1, booking_id=subject)
            )
            found = [_refund_item(r) for r in refunds]
        elif prefix == "no-show":
            claims = self._read(
                "no-show claims", lambda tx: no_shows.open_claims(tx, 1, booking_id=subject)
            )
            found = [_claim_item(c) for c in claims]
        return found[0] if found else None

    def retry(self, key: str, *, by: str, reason: str) -> AttentionItem:
        item = self.get(key)
        _refuse_claims(item)
        record = self._ledger.record_attention_retry(
            key=item.id, kind=item.kind, subject=item.subject, by=by, reason=reason
        )
        if item.kind == PARKED_WORK:
            assert item.process is not None and item.position is not None
            with self._store.transaction() as tx:
                work_queue.requeue(tx, item.process, item.position)
        elif item.kind == HALTED:
            with self._store.transaction() as tx:
                halts.clear(tx, item.subject)
        elif item.kind == PAYOUT_FAILED:
            assert item.payment_id is not None
            result = self._payouts.retry_one(UUID(item.payment_id), attempt=record.retries)
            if result.failed:
                raise NotAllowed(f"the payout failed again: {'; '.join(result.failures)}")
        elif item.kind == REFUND_MISSING:
            self._retry_refund(item)
        return self._with_actions(item)

    def resolve(self, key: str, *, by: str, reason: str) -> AttentionItem:
        item = self.get(key)
        _refuse_claims(item)
        if item.kind == HALTED:
            raise NotAllowed(
                "a halted read model is retried after a fix (or replayed), never skipped"
            )
        self._ledger.record_attention_resolved(
            key=item.id, kind=item.kind, subject=item.subject, by=by, reason=reason
        )
        if item.kind == PARKED_WORK:
            assert item.process is not None and item.position is not None
            with self._store.transaction() as tx:
                work_queue.resolve(tx, item.process, item.position)
        return self._with_actions(item, status="resolved")

    # -- internals ---------------------------------------------------------------------------

    def _retry_refund(self, item: AttentionItem) -> None:
        assert item.booking_id is not None
        with self._store.transaction() as tx:
            rows = queries.refund_work_for(tx, item.booking_id)
            failed = [r for r in rows if r.topic == Booking.BookingFailed.TOPIC] or rows
            if not failed or not work_queue.requeue_finished(
                tx, failed[0].process, failed[0].position
            ):
                raise NotAllowed(f"no finished refund work for booking {item.booking_id}")

    def _opened(self, items: Iterable[AttentionItem]) -> list[AttentionItem]:
        return [opened for opened in map(self._if_open, items) if opened is not None]

    def _if_open(self, item: AttentionItem) -> AttentionItem | None:
        """The item with its recorded actions, or None if it is closed: parked work, halts and
        claims carry their own state; derived items (payouts, refunds) are closed in the
        ledger. One read of its ``Attention`` record answers both."""
        record = self._ledger.get_attention(item.id)
        derived = item.kind not in (PARKED_WORK, HALTED, NO_SHOW_CLAIM)
        if derived and record is not None and record.resolved:
            return None
        return _with_record(item, record)

    def _with_actions(self, item: AttentionItem, status: str | None = None) -> AttentionItem:
        return _with_record(item, self._ledger.get_attention(item.id), status)


def _with_record(
    item: AttentionItem, record: Attention | None, status: str | None = None
) -> AttentionItem:
    actions = _actions(record) if record is not None else []
    return AttentionItem(**{**item.__dict__, "actions": actions, "status": status or item.status})


def _actions(record: Attention) -> list[dict[str, Any]]:
    return [{"action": a, "by": by, "reason": reason} for a, by, reason in record.actions]


def _work_item(w: work_queue.WorkItem) -> AttentionItem:
    return AttentionItem(
        id=f"work:{w.key}",
        kind=PARKED_WORK,
        subject=w.lane,
        detail=w.last_error or "parked",
        since=w.updated_at,
        booking_id=w.lane,
        process=w.process,
        position=w.position,
        attempts=w.attempts,
    )


def _halt_item(h: halts.Halt) -> AttentionItem:
    return AttentionItem(
        id=f"halt:{h.name}",
        kind=HALTED,
        subject=h.name,
        detail=f"halted at {h.position}: event {h.failed_position} cannot be applied: {h.error}",
        since=h.halted_at,
        position=h.failed_position,
    )


def _payout_item(p: queries.FailedPayout) -> AttentionItem:
    return AttentionItem(
        id=f"payout:{p.payment_id}",
        kind=PAYOUT_FAILED,
        subject=p.payment_id,
        detail=p.error or "payout failed for good",
        since=p.since,
        booking_id=p.booking_id,
        payment_id=p.payment_id,
    )


def _refund_item(r: queries.MissingRefund) -> AttentionItem:
    return AttentionItem(
        id=f"refund:{r.booking_id}",
        kind=REFUND_MISSING,
        subject=r.booking_id,
        detail=f"booking failed; {r.amount - r.amount_refunded} {r.currency} not refunded",
        since=r.since,
        booking_id=r.booking_id,
        payment_id=r.payment_id,
    )


def _claim_item(claim: dict[str, Any]) -> AttentionItem:
    return AttentionItem(
        id=f"no-show:{claim['booking_id']}",
        kind=NO_SHOW_CLAIM,
        subject=claim["booking_id"],
        detail=f"the attendee says the mentor did not show: {claim['reason']}",
        since=claim["reported_at"],
        booking_id=claim["booking_id"],
    )


def _refuse_claims(item: AttentionItem) -> None:
    """A no-show claim is decided, not retried or resolved: the decision says which way."""
    if item.kind == NO_SHOW_CLAIM:
        raise NotAllowed(
            f"decide it: POST /api/bookings/{item.booking_id}/no-show/decision"
            " with {decision: refund|release, reason}"
        )
