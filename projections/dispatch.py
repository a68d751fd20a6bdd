"""The dispatcher: a read model whose rows are the process managers' work.

It follows the log like any projection (a batch and its position in one transaction, so
exactly once) and writes one ``work_items`` row per (process manager, event) that the manager's
topics ask for, with the event's booking as its lane. Payment events carry no booking id after
``Paid``, so it keeps a small payment -> booking map (``work_lanes``) from the ``Paid`` events.
"""

from __future__ import annotations

from collections.abc import Sequence

from ledger import Payment
from ledger.events import DomainEvent
from projections import tracking, work_queue
from projections.store import Transaction

NAME = "work-dispatch"
PAID = Payment.Paid.TOPIC


class WorkDispatcher:
    name = NAME

    def __init__(self, routes: dict[str, Sequence[str]]) -> None:
        """``routes``: process manager name -> the topics it handles (none: every event)."""
        self._routes = {name: frozenset(topics) for name, topics in routes.items()}
        everything = any(not topics for topics in self._routes.values())
        wanted = set().union(*self._routes.values()) if self._routes else set()
        self.topics: tuple[str, ...] = () if everything else tuple(sorted(wanted | {PAID}))

    def create_tables(self, tx: Transaction) -> None:
        work_queue.create_tables(tx)
        # Upgrading from one follower per process manager: start where the slowest of them
        # stood, so history is not handed to the managers again (a few repeats are harmless:
        # every handler is idempotent).
        tracking.seed_from(tx, self.name, list(self._routes))

    def drop_tables(self, tx: Transaction) -> None:
        work_queue.drop_tables(tx)

    def apply(self, tx: Transaction, events: list[tuple[int, DomainEvent]]) -> None:
        known: dict[str, str] = {}
        for _, event in events:
            if isinstance(event, Payment.Paid):
                known[str(event.originator_id)] = str(event.booking_id)
                work_queue.remember_lane(tx, str(event.originator_id), str(event.booking_id))
        unknown = [
            str(e.originator_id)
            for _, e in events
            if not isinstance(e, Payment.Paid) and str(e.originator_id) not in known
        ]
        known.update(work_queue.lanes_of(tx, sorted(set(unknown))))
        items: list[tuple[str, int, str, str]] = []
        for position, event in events:
            topic = getattr(type(event), "TOPIC", type(event).__qualname__)
            lane = known.get(str(event.originator_id), str(event.originator_id))
            for process, topics in self._routes.items():
                if not topics or topic in topics:
                    items.append((process, position, lane, topic))
        work_queue.enqueue(tx, items)
