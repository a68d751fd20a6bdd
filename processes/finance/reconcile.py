"""``mentorpay ledger reconcile``: the ledger's money movements against Stripe's own lists.

Compares, by Stripe id, the PaymentIntents, refunds and transfers (with their reversed
amounts) the ledger recorded with what Stripe lists, and reports anything on one side only
or with a different amount. Stripe is listed first, then the ledger is read: a payment that
completes in between shows up as "ledger only" on one run and is gone on the next, whereas
money the ledger never heard of (a refund made in the Dashboard, a lost webhook) stays.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Literal

from eventsourcing.application import Application

from ledger import Money, Payment
from processes.gateways.stripe_gateway import StripeGateway
from projections.event_log import iter_domain_events

Kind = Literal["payment", "refund", "transfer", "transfer_reversal"]
# A refund in these states has not returned (and will not return) the money.
_REFUND_NOT_MADE = frozenset({"failed", "canceled"})
_BATCH = 5000


@dataclass(frozen=True)
class Discrepancy:
    kind: Kind
    stripe_id: str
    problem: str  # "only in the ledger", "only at Stripe", "amounts differ", ...
    ledger_amount: Money | None
    stripe_amount: Money | None

    def __str__(self) -> str:
        return (
            f"{self.kind} {self.stripe_id}: {self.problem}"
            f" (ledger {_show(self.ledger_amount)}, Stripe {_show(self.stripe_amount)})"
        )


@dataclass
class MoneyMovements:
    """Amounts by Stripe id, per kind; ``transfer_reversal`` is the reversed total per transfer."""

    by_kind: dict[Kind, dict[str, Money]] = field(
        default_factory=lambda: {
            "payment": {},
            "refund": {},
            "transfer": {},
            "transfer_reversal": {},
        }
    )


@dataclass(frozen=True)
class ReconcileReport:
    ledger_counts: dict[str, int]
    stripe_counts: dict[str, int]
    discrepancies: list[Discrepancy]

    @property
    def ok(self) -> bool:
        return not self.discrepancies


def ledger_movements(app: Application[Any]) -> MoneyMovements:
    movements = MoneyMovements()
    found = movements.by_kind
    reversed_totals: defaultdict[str, int] = defaultdict(int)
    currencies: dict[str, str] = {}
    topics = [
        Payment.Paid.TOPIC,
        Payment.Refunded.TOPIC,
        Payment.PaidOut.TOPIC,
        Payment.PayoutReversed.TOPIC,
    ]
    for _, event in iter_domain_events(app, topics=topics, batch_size=_BATCH):
        if isinstance(event, Payment.Paid):
            found["payment"][event.payment_intent_id] = Money(event.amount, event.currency)
        elif isinstance(event, Payment.Refunded):
            found["refund"][event.refund_id] = Money(event.amount, event.currency)
        elif isinstance(event, Payment.PaidOut):
            found["transfer"][event.transfer_id] = Money(event.amount, event.currency)
            currencies[event.transfer_id] = event.currency
        elif isinstance(event, Payment.PayoutReversed):
            reversed_totals[event.transfer_id] += event.amount
            currencies[event.transfer_id] = event.currency
    for transfer_id, currency in currencies.items():
        found["transfer_reversal"][transfer_id] = Money(reversed_totals[transfer_id], currency)
    return movements


def stripe_movements(stripe: StripeGateway) -> tuple[MoneyMovements, set[str]]:
    """What Stripe lists, and the ids of refunds that failed or were canceled there."""
    movements = MoneyMovements()
    found = movements.by_kind
    for intent in stripe.list_payment_intents():
        if intent.status == "succeeded":
            found["payment"][intent.id] = intent.amount
    not_made: set[str] = set()
    for refund in stripe.list_refunds():
        if refund.status in _REFUND_NOT_MADE:
            not_made.add(refund.id)
        else:
            found["refund"][refund.id] = refund.amount
    for transfer in stripe.list_transfers():
        found["transfer"][transfer.id] = transfer.amount
        found["transfer_reversal"][transfer.id] = transfer.amount_reversed
    return movements, not_made


def reconcile(app: Application[Any], stripe: StripeGateway) -> ReconcileReport:
    at_stripe, refunds_not_made = stripe_movements(stripe)
    in_ledger = ledger_movements(app)
    discrepancies: list[Discrepancy] = []
    for kind, ours in in_ledger.by_kind.items():
        theirs = at_stripe.by_kind[kind]
        for stripe_id in sorted(ours.keys() | theirs.keys()):
            mine, stripes = ours.get(stripe_id), theirs.get(stripe_id)
            problem = _compare(kind, stripe_id, mine, stripes, refunds_not_made)
            if problem:
                discrepancies.append(Discrepancy(kind, stripe_id, problem, mine, stripes))
    return ReconcileReport(
        ledger_counts=_counts(in_ledger),
        stripe_counts=_counts(at_stripe),
        discrepancies=discrepancies,
    )


def _compare(
    kind: Kind,
    stripe_id: str,
    ours: Money | None,
    theirs: Money | None,
    refunds_not_made: set[str],
) -> str | None:
    if kind == "transfer_reversal":
        # Only for transfers on both sides (one-sided transfers are reported as transfers).
        if ours is None or theirs is None or ours == theirs:
            return None
        return "reversed amounts differ"
    if ours is None:
        return "only at Stripe"
    if theirs is None:
        if kind == "refund" and stripe_id in refunds_not_made:
            return "recorded as refunded, but the refund failed at Stripe"
        return "only in the ledger"
    if ours != theirs:
        return "amounts differ"
    return None


def _counts(movements: MoneyMovements) -> dict[str, int]:
    return {
        kind: len(ids) for kind, ids in movements.by_kind.items() if kind != "transfer_reversal"
    }


def _show(amount: Money | None) -> str:
    return "-" if amount is None else f"{amount.amount} {amount.currency}"
