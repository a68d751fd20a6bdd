"""The ``payments`` read model: one row per Stripe payment, its status, refunds and payout."""

from __future__ import annotations

from typing import Any

from ledger import Payment
from projections.follower import DomainEvent
from projections.store import Transaction

CREATE_PAYMENTS = """
CREATE TABLE IF NOT EXISTS payments (
    id TEXT PRIMARY KEY,
    stripe_payment_intent_id TEXT NOT NULL UNIQUE,
    stripe_charge_id TEXT NOT NULL,
    amount BIGINT NOT NULL,
    currency TEXT NOT NULL,
    status TEXT NOT NULL,
    disposition TEXT NOT NULL,
    booking_id TEXT NOT NULL,
    mentor_id TEXT NOT NULL,
    paid_at TIMESTAMPTZ NOT NULL,
    amount_refunded BIGINT NOT NULL DEFAULT 0,
    disputed BOOLEAN NOT NULL DEFAULT FALSE,
    destination_account TEXT,
    transfer_amount BIGINT,
    transfer_id TEXT,
    payout_eligible_at TIMESTAMPTZ,
    paid_out_at TIMESTAMPTZ,
    payout_error TEXT,
    last_position BIGINT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
)
"""
INDEXES = (
    "CREATE INDEX IF NOT EXISTS payments_booking_idx ON payments (booking_id)",
    "CREATE INDEX IF NOT EXISTS payments_status_paid_at_idx ON payments (status, paid_at)",
)


class PaymentsProjection:
    name = "payments"
    topics = (
        Payment.Paid.TOPIC,
        Payment.Refunded.TOPIC,
        Payment.PayoutEligible.TOPIC,
        Payment.PaidOut.TOPIC,
        Payment.PayoutFailed.TOPIC,
        Payment.PayoutReversed.TOPIC,
        Payment.Disputed.TOPIC,
    )

    def create_tables(self, tx: Transaction) -> None:
        tx.execute(CREATE_PAYMENTS)
        for statement in INDEXES:
            tx.execute(statement)

    def drop_tables(self, tx: Transaction) -> None:
        tx.execute("DROP TABLE IF EXISTS payments")

    def apply(self, tx: Transaction, events: list[tuple[int, DomainEvent]]) -> None:
        for position, event in events:
            if isinstance(event, Payment.Paid):
                self._insert(tx, position, event)
            elif isinstance(event, Payment.Refunded):
                # Status follows from the running total, as in the aggregate.
                self._update(tx, position, event, {"amount_refunded": event.amount}, refund=True)
            else:
                changes = self._changes(event)
                if changes is not None:
                    self._update(tx, position, event, changes)

    @staticmethod
    def _changes(event: DomainEvent) -> dict[str, Any] | None:
        if isinstance(event, Payment.PayoutEligible):
            return {
                "status": "payout_eligible",
                "destination_account": event.destination_account,
                "transfer_amount": event.transfer_amount,
                "payout_eligible_at": event.eligible_at,
                "payout_error": None,
            }
        if isinstance(event, Payment.PaidOut):
            return {
                "status": "paid",
                "transfer_id": event.transfer_id,
                "paid_out_at": event.timestamp,
            }
        if isinstance(event, Payment.PayoutFailed):
            status = "payout_eligible" if event.retryable else "payout_failed"
            return {"status": status, "payout_error": event.error}
        if isinstance(event, Payment.PayoutReversed):
            return {"status": "payout_reversed"}
        if isinstance(event, Payment.Disputed):
            return {"disputed": True}
        return None

    @staticmethod
    def _insert(tx: Transaction, position: int, event: Payment.Paid) -> None:
        tx.execute(
            """
            INSERT INTO payments (id, stripe_payment_intent_id, stripe_charge_id, amount, currency,
                status, disposition, booking_id, mentor_id, paid_at, last_position, created_at,
                updated_at)
            VALUES (%s, %s, %s, %s, %s, 'succeeded', %s, %s, %s, %s, %s, %s, %s)
            ON CONFLICT (id) DO NOTHING
            """,
            (
                event.originator_id,
                event.payment_intent_id,
                event.charge_id,
                event.amount,
                event.currency,
                event.disposition,
                event.booking_id,
                event.mentor_id,
                event.paid_at,
                position,
                event.timestamp,
                event.timestamp,
            ),
        )

    @staticmethod
    def _update(
        tx: Transaction,
        position: int,
        event: DomainEvent,
        changes: dict[str, Any],
        *,
        refund: bool = False,
    ) -> None:
        if refund:
            assignments = (
                "amount_refunded = amount_refunded + %(amount_refunded)s, "
                "status = CASE WHEN amount_refunded + %(amount_refunded)s >= amount "
                "THEN 'refunded' ELSE 'partially_refunded' END"
            )
        else:
            assignments = ", ".join(f"{column} = %({column})s" for column in changes)
        tx.execute(
            f"UPDATE payments SET {assignments}, last_position = %(position)s, "
            "updated_at = %(updated_at)s WHERE id = %(id)s",
            {
                **changes,
                "position": position,
                "updated_at": event.timestamp,
                "id": event.originator_id,
            },
        )
