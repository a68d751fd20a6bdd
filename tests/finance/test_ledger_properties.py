"""Hypothesis: random flows of bookings, payments, failures, refunds, cancellations and
payouts, driven through the ledger's commands. After every step the trial balance is zero
per currency and verify's invariants hold; at the end the read models, built in small
batches, equal a rebuild."""

from __future__ import annotations

import contextlib
from datetime import timedelta
from uuid import UUID, uuid4

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from ledger import Ledger, LedgerError, Money, balances, postings_for
from mentorpay.persistence import eventsourcing_env
from processes.finance.audit import check_invariants, compare_read_models
from projections.follower import Follower
from projections.store import ReadModelStore
from tests.support.books import read_models
from tests.support.ledger_factories import HOLD, T0, booking_fields

PRICES = (Money(7500, "usd"), Money(3000, "jpy"))
FEE_BPS = 1000

# Steps act on one of the most recent bookings or payments (0 = the latest).
index = st.integers(min_value=0, max_value=3)
pay = st.tuples(st.just("pay"), index, st.sampled_from(["exact", "exact", "exact", "wrong"]))
book = st.tuples(st.just("book"), index)
payout = st.tuples(st.just("payout"), index, st.sampled_from(["paid", "paid", "retry", "refused"]))
# Listed twice: paying, booking and paying out are the common path the rest branches from.
step = st.one_of(
    st.tuples(st.just("request"), st.integers(0, len(PRICES) - 1)),
    st.tuples(st.just("booked"), st.integers(0, len(PRICES) - 1)),
    st.tuples(st.just("paid_out"), st.integers(0, len(PRICES) - 1)),
    st.tuples(st.just("forfeited"), st.integers(0, len(PRICES) - 1)),
    pay,
    pay,
    book,
    book,
    payout,
    payout,
    st.tuples(st.just("fail"), index),
    st.tuples(st.just("expire"), index),
    # The refund the cancellation records: with none, the mentor is still paid out.
    st.tuples(st.just("cancel"), index, st.sampled_from(["user", "mentor"]), st.booleans()),
    st.tuples(st.just("refund"), index, st.integers(1, 4)),
    st.tuples(st.just("reverse"), index),
    st.tuples(st.just("dispute"), index),
)


class Flows:
    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.bookings: list[UUID] = []
        self.payments: list[UUID] = []
        self.counter = 0

    def next_id(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}_{self.counter}_{uuid4().hex[:8]}"

    def run(self, action: tuple) -> None:
        kind, *args = action
        if kind == "request":
            price = PRICES[args[0]]
            fee = Money(price.amount * FEE_BPS // 10_000, price.currency)
            fields = booking_fields(price=price, platform_fee=fee)
            self.ledger.request_booking(**fields)
            self.bookings.append(fields["booking_id"])
            return
        if kind == "booked":  # a whole happy path at once: requested, paid, booked
            self.run(("request", args[0]))
            self.run(("pay", 0, "exact"))
            self.run(("book", 0))
            return
        if kind == "paid_out":  # ... and the mentor paid after the hold
            self.run(("booked", args[0]))
            self.run(("payout", 0, "paid"))
            return
        if kind == "forfeited":  # booked, cancelled late without a refund, mentor paid
            self.run(("booked", args[0]))
            self.run(("cancel", 0, "user", False))
            self.run(("payout", 0, "paid"))
            return
        if kind in ("pay", "book", "fail", "expire", "cancel"):
            if not self.bookings:
                return
            booking_id = self.bookings[-1 - args[0] % len(self.bookings)]
            self._booking_step(kind, booking_id, args[1:])
            return
        if not self.payments:
            return
        self._payment_step(kind, self.payments[-1 - args[0] % len(self.payments)], args[1:])

    def _booking_step(self, kind: str, booking_id: UUID, args: list) -> None:
        ledger = self.ledger
        if kind == "pay":
            price = ledger.get_booking(booking_id).price
            amount = price if args[0] == "exact" else Money(price.amount + 1, price.currency)
            pi = self.next_id("pi")
            recorded = ledger.record_payment(
                payment_intent_id=pi,
                charge_id=f"ch_{pi}",
                amount=amount,
                booking_id=booking_id,
                paid_at=T0,
            )
            self.payments.append(recorded.payment_id)
        elif kind == "book":
            ledger.record_booked(booking_id=booking_id, calcom_booking_uid=self.next_id("cal"))
        elif kind == "fail":
            ledger.record_booking_failed(booking_id=booking_id, reason="slot taken", final=True)
        elif kind == "expire":
            ledger.expire_booking(booking_id=booking_id)
        else:
            ledger.cancel_booking(
                booking_id=booking_id, by=args[0], reason="changed plans", refund=args[1]
            )

    def _payment_step(self, kind: str, payment_id: UUID, args: list) -> None:
        ledger = self.ledger
        payment = ledger.get_payment(payment_id)
        if kind == "refund":
            left = payment.amount - payment.refunded_amount
            amount = max(1, left * args[0] // 4)
            ledger.record_refund(
                payment_id=payment_id,
                refund_id=self.next_id("re"),
                amount=Money(amount, payment.currency),
                reason="requested",
            )
        elif kind == "payout":
            eligible = ledger.mark_payout_eligible(
                payment_id=payment_id,
                destination_account="acct_sandboxmentor01",
                now=T0 + HOLD + timedelta(hours=1),
                hold=HOLD,
            )
            assert eligible.transfer_amount is not None
            if args[0] == "paid":
                ledger.record_paid_out(
                    payment_id=payment_id,
                    transfer_id=self.next_id("tr"),
                    amount=Money(eligible.transfer_amount, eligible.currency),
                )
            else:
                ledger.record_payout_failed(
                    payment_id=payment_id, error="refused", retryable=args[0] == "retry"
                )
        elif kind == "reverse":
            left = payment.paid_out_amount - payment.reversed_amount
            ledger.record_payout_reversed(
                payment_id=payment_id,
                reversal_id=self.next_id("trr"),
                amount=Money(max(left, 1), payment.currency),
            )
        else:
            ledger.record_dispute(
                payment_id=payment_id,
                dispute_id=self.next_id("dp"),
                amount=Money(payment.amount, payment.currency),
                reason="fraudulent",
            )


def _trial_balance(ledger: Ledger) -> dict[str, int]:
    notifications = ledger.recorder.select_notifications(1, 100_000)
    net: dict[str, int] = {}
    postings = [p for n in notifications for p in postings_for(ledger.mapper.to_domain_event(n))]
    for (_, currency), balance in balances(postings).items():
        net[currency] = net.get(currency, 0) + balance
    return net


@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(st.lists(step, min_size=10, max_size=40))
def test_random_flows_keep_the_books_balanced(actions: list[tuple]) -> None:
    with Ledger(eventsourcing_env("memory://")) as ledger:
        flows = Flows(ledger)
        # Two bookings to start from, one per currency, so most steps have something to act on.
        for action in [("request", 0), ("request", 1), *actions]:
            # A refused command records nothing: the books must hold all the same.
            with contextlib.suppress(LedgerError):
                flows.run(action)
            assert all(net == 0 for net in _trial_balance(ledger).values()), action
            assert check_invariants(ledger).findings == [], action
        topics = {n.topic for n in ledger.recorder.select_notifications(1, 100_000)}
        for topic in sorted(topics):
            event(topic)  # shown by --hypothesis-show-statistics: which flows were reached
        with ReadModelStore("memory://") as store:
            projections = read_models()
            for projection in projections:
                Follower(ledger, store, projection, batch_size=3).run_until_caught_up()
            assert compare_read_models(ledger, store, projections) == []
