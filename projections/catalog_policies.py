"""Each event type's session policy in the catalogue, and the ``PolicySource`` the ledger reads.

A table of its own beside ``catalog_event_types`` (one row per event type that sets anything):
what an event type leaves out (NULL, or no row) is the settings' default.
"""

from __future__ import annotations

from dataclasses import fields, replace
from typing import Any

from ledger.session_policy import SessionPolicy
from projections.catalog_file import PolicyEntry
from projections.store import ReadModelStore, Transaction

POLICY_FIELDS = tuple(field.name for field in fields(SessionPolicy))

CREATE_POLICIES = """
CREATE TABLE IF NOT EXISTS catalog_event_type_policies (
    event_type_id BIGINT PRIMARY KEY,
    free_cancel_hours BIGINT,
    late_cancel_refund_percent BIGINT,
    reschedule_cutoff_hours BIGINT,
    max_reschedules BIGINT
)
"""


def create_policy_table(tx: Transaction) -> None:
    tx.execute(CREATE_POLICIES)


def store_policy(tx: Transaction, event_type_id: int, policy: PolicyEntry | None) -> None:
    """Replace the event type's policy (None: the defaults alone)."""
    tx.execute("DELETE FROM catalog_event_type_policies WHERE event_type_id = %s", (event_type_id,))
    if policy is None:
        return
    values = [getattr(policy, name) for name in POLICY_FIELDS]
    tx.execute(
        f"INSERT INTO catalog_event_type_policies (event_type_id, {', '.join(POLICY_FIELDS)}) "
        "VALUES (%s, %s, %s, %s, %s)",
        (event_type_id, *values),
    )


def read_policy(tx: Transaction, event_type_id: int, defaults: SessionPolicy) -> SessionPolicy:
    row = tx.execute(
        "SELECT * FROM catalog_event_type_policies WHERE event_type_id = %s", (event_type_id,)
    ).fetchone()
    return _policy(row, defaults)


def _policy(row: dict[str, Any] | None, defaults: SessionPolicy) -> SessionPolicy:
    if row is None:
        return defaults
    overrides = {name: int(row[name]) for name in POLICY_FIELDS if row[name] is not None}
    return replace(defaults, **overrides)


class CatalogPolicies:
    """The policy in force for an event type: the catalogue's, over the settings' defaults."""

    def __init__(self, store: ReadModelStore, defaults: SessionPolicy) -> None:
        self._store = store
        self.defaults = defaults

    def policy_for(self, event_type_id: int) -> SessionPolicy:
        with self._store.transaction(readonly=True) as tx:
            return read_policy(tx, event_type_id, self.defaults)
