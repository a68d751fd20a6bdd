"""The payout query on the ``payments`` read model: which payments are due, and by which index."""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID, uuid4

from ledger import Money
from projections.payments import (
    PAYOUT_CANDIDATES,
    PAYOUT_CANDIDATES_AFTER_SESSION,
    payout_candidates,
)
from projections.store import ReadModelStore
from tests.support.ledger_factories import (
    HOLD,
    PRICE,
    T0,
    accepted_booking,
    paid_booking,
    paid_out,
    pay,
    request_booking,
)
from tests.support.payments_world import World

AFTER_HOLD = T0 + HOLD


def due(store: ReadModelStore, paid_before: datetime = AFTER_HOLD - HOLD) -> set[UUID]:
    with store.transaction(readonly=True) as tx:
        return {UUID(c.payment_id) for c in payout_candidates(tx, paid_before)}


def test_only_payments_owed_to_the_mentor_not_refunded_disputed_or_paid_are_due(
    world: World,
) -> None:
    ledger = world.ledger
    _, accepted = accepted_booking(ledger)
    _, pending = paid_booking(ledger)  # Cal.com has not booked it yet
    rejected_booking, rejected = paid_booking(ledger)
    ledger.record_booking_failed(booking_id=rejected_booking, reason="slot taken", final=True)

    cancelled_booking, cancelled = accepted_booking(ledger)
    ledger.cancel_booking(booking_id=cancelled_booking, by="user", reason="early", refund=True)
    # Cancelled late, without a refund: the attendee forfeited it, the mentor is paid.
    forfeited_booking, forfeited = accepted_booking(ledger)
    ledger.cancel_booking(booking_id=forfeited_booking, by="user", reason="late", refund=False)
    # Cancelled before it was paid: the payment that arrives anyway is late, to be refunded.
    unpaid_booking = request_booking(ledger)
    ledger.cancel_booking(booking_id=unpaid_booking, by="user", reason="early", refund=False)
    late = pay(ledger, unpaid_booking).payment_id

    _, disputed = accepted_booking(ledger)
    ledger.record_dispute(payment_id=disputed, dispute_id="dp_1", amount=PRICE, reason="fraudulent")

    _, refunded = accepted_booking(ledger)
    ledger.record_refund(
        payment_id=refunded, refund_id="re_1", amount=Money(PRICE.amount, "usd"), reason="all"
    )
    # Partly refunded (a goodwill refund, a late cancellation's percentage): the rest is owed.
    _, partly = accepted_booking(ledger)
    ledger.record_refund(
        payment_id=partly, refund_id="re_2", amount=Money(100, "usd"), reason="goodwill"
    )

    _, done = paid_out(ledger)

    # A second payment of an accepted booking is refunded, never paid out.
    duplicate_booking, first = accepted_booking(ledger)
    duplicate = pay(ledger, duplicate_booking).payment_id

    # Left half-done by an interrupted run, or failed in a way worth retrying: still due.
    _, interrupted = accepted_booking(ledger)
    ledger.mark_payout_eligible(
        payment_id=interrupted, destination_account="acct_ada", now=AFTER_HOLD, hold=HOLD
    )
    _, retryable = accepted_booking(ledger)
    ledger.mark_payout_eligible(
        payment_id=retryable, destination_account="acct_ada", now=AFTER_HOLD, hold=HOLD
    )
    ledger.record_payout_failed(payment_id=retryable, error="Stripe 500", retryable=True)
    # Refused for good: reported, not retried every hour.
    _, refused = accepted_booking(ledger)
    ledger.mark_payout_eligible(
        payment_id=refused, destination_account="acct_ada", now=AFTER_HOLD, hold=HOLD
    )
    ledger.record_payout_failed(payment_id=refused, error="account disabled", retryable=False)

    # In flight when its booking was cancelled: only the payout process can settle it.
    inflight_booking, inflight = accepted_booking(ledger)
    ledger.mark_payout_eligible(
        payment_id=inflight, destination_account="acct_ada", now=AFTER_HOLD, hold=HOLD
    )
    ledger.cancel_booking(booking_id=inflight_booking, by="mentor", reason="ill", refund=True)

    store = world.caught_up()
    assert due(store) == {accepted, forfeited, first, interrupted, retryable, inflight, partly}
    assert not due(store) & {
        pending,
        rejected,
        cancelled,
        late,
        disputed,
        refunded,
        done,
        duplicate,
        refused,
    }
    # Paid at T0: not due with a cut-off before that.
    assert due(store, T0 - timedelta(seconds=1)) == set()


def test_late_payment_of_an_expired_booking_is_never_due(world: World) -> None:
    booking_id = request_booking(world.ledger)
    world.ledger.expire_booking(booking_id=booking_id)
    pay(world.ledger, booking_id)
    assert due(world.caught_up()) == set()


def test_rebuilt_read_model_finds_the_same_payments(world: World) -> None:
    _, accepted = accepted_booking(world.ledger)
    cancelled_booking, _ = accepted_booking(world.ledger)
    world.ledger.cancel_booking(
        booking_id=cancelled_booking, by="mentor", reason="ill", refund=True
    )
    forfeited_booking, forfeited = accepted_booking(world.ledger)
    world.ledger.cancel_booking(
        booking_id=forfeited_booking, by="user", reason="late", refund=False
    )
    assert due(world.caught_up()) == {accepted, forfeited}
    world.payments.replay()
    assert due(world.store) == {accepted, forfeited}


def _insert_paid_out_rows(store: ReadModelStore, count: int) -> None:
    rows = [
        {
            "id": str(uuid4()),
            "pi": f"pi_bg_{n}",
            "paid_at": T0 - timedelta(days=30, minutes=n),
        }
        for n in range(count)
    ]
    with store.transaction() as tx:
        tx.executemany(
            """
            INSERT INTO payments (id, stripe_payment_intent_id, stripe_charge_id, amount,
                currency, status, disposition, booking_id, booking_payable, mentor_id, paid_at,
                transfer_id, last_position, created_at, updated_at)
            VALUES (%(id)s, %(pi)s, %(pi)s, 7500, 'usd', 'paid', 'accepted', %(id)s, TRUE,
                'mentor-ada', %(paid_at)s, %(pi)s, 0, %(paid_at)s, %(paid_at)s)
            """,
            rows,
        )
        if tx.kind == "postgres":
            tx.execute("ANALYZE payments")
        else:
            tx.execute("ANALYZE")


def test_the_query_reads_the_partial_index_not_the_paid_out_history(world: World) -> None:
    accepted_booking(world.ledger)
    store = world.caught_up()
    _insert_paid_out_rows(store, 5000)
    with store.transaction(readonly=True) as tx:
        if tx.kind == "postgres":
            plan = tx.execute("EXPLAIN " + PAYOUT_CANDIDATES, (AFTER_HOLD,)).fetchall()
            text = "\n".join(row["QUERY PLAN"] for row in plan)
            assert "Seq Scan" not in text
        else:
            plan = tx.execute("EXPLAIN QUERY PLAN " + PAYOUT_CANDIDATES, (AFTER_HOLD,)).fetchall()
            text = "\n".join(row["detail"] for row in plan)
    assert "payments_payout_queue_idx" in text, text
    assert len(due(store)) == 1


def test_after_the_session_it_is_still_one_query_on_the_partial_index(world: World) -> None:
    accepted_booking(world.ledger)
    store = world.caught_up()
    _insert_paid_out_rows(store, 5000)
    params = (AFTER_HOLD, AFTER_HOLD)
    with store.transaction(readonly=True) as tx:
        explain = "EXPLAIN " if tx.kind == "postgres" else "EXPLAIN QUERY PLAN "
        plan = tx.execute(explain + PAYOUT_CANDIDATES_AFTER_SESSION, params).fetchall()
        column = "QUERY PLAN" if tx.kind == "postgres" else "detail"
        text = "\n".join(row[column] for row in plan)
    assert "Seq Scan" not in text
    assert "payments_payout_queue_idx" in text, text


def test_a_payment_is_due_once_its_session_has_ended_and_a_reschedule_moves_it(
    world: World,
) -> None:
    ledger = world.ledger
    booking_id, payment_id = accepted_booking(ledger)
    end = ledger.get_booking(booking_id).request.end
    store = world.caught_up()
    with store.transaction(readonly=True) as tx:
        before_end = payout_candidates(tx, AFTER_HOLD, end - timedelta(seconds=1))
        at_end = payout_candidates(tx, AFTER_HOLD, end)
    assert before_end == [] and [c.payment_id for c in at_end] == [str(payment_id)]

    booking = ledger.get_booking(booking_id)
    assert booking.calcom_booking_uid is not None
    ledger.reschedule_booking(
        booking_id=booking_id,
        from_calcom_booking_uid=booking.calcom_booking_uid,
        calcom_booking_uid="cal_moved",
        start=booking.request.start + timedelta(days=2),
        end=end + timedelta(days=2),
        by="user",
    )
    store = world.caught_up()
    with store.transaction(readonly=True) as tx:
        assert payout_candidates(tx, AFTER_HOLD, end) == []
        moved = payout_candidates(tx, AFTER_HOLD, end + timedelta(days=2))
    assert [c.payment_id for c in moved] == [str(payment_id)]
