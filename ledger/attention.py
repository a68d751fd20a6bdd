"""The ``Attention`` aggregate: what operations did about something that needed a person.

One per attention item (``key``: ``work:<process>:<position>``, ``payout:<payment id>``,
``refund:<booking id>``, ``halt:<read model>``), with a stable id derived from the key. Each
retry and each resolution is an event: who (``by``), when (the event's timestamp) and why
(``reason``). It moves no money and changes no booking or payment by itself.
"""

from __future__ import annotations

from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import AggregateCreated, AggregateEvent, BaseAggregate

_NAMESPACE = uuid5(NAMESPACE_URL, "https://mentorpay.invalid/attention")


class Attention(BaseAggregate[UUID]):
    TOPIC = "mentorpay.Attention"

    def __init__(self) -> None:
        self.key: str
        self.kind: str
        self.subject: str
        self.retries = 0
        self.resolved = False
        self.actions: list[tuple[str, str, str]] = []  # (action, by, reason)

    @staticmethod
    def create_id(key: str) -> UUID:
        return uuid5(_NAMESPACE, key)

    class Event(AggregateEvent):
        """Base of the attention item's events."""

    class Noted(Event, AggregateCreated):
        TOPIC = "mentorpay.Attention.Noted"
        key: str
        kind: str
        subject: str  # the booking, payment or read model it is about

        def apply(self, item: Attention) -> None:
            item.key = self.key
            item.kind = self.kind
            item.subject = self.subject

    class RetryRequested(Event):
        TOPIC = "mentorpay.Attention.RetryRequested"
        by: str
        reason: str

        def apply(self, item: Attention) -> None:
            item.retries += 1
            item.resolved = False
            item.actions.append(("retry", self.by, self.reason))

    class Resolved(Event):
        TOPIC = "mentorpay.Attention.Resolved"
        by: str
        reason: str

        def apply(self, item: Attention) -> None:
            item.resolved = True
            item.actions.append(("resolve", self.by, self.reason))

    @classmethod
    def note(cls, key: str, kind: str, subject: str) -> Attention:
        return cls._create(cls.Noted, id=cls.create_id(key), key=key, kind=kind, subject=subject)

    def request_retry(self, by: str, reason: str) -> None:
        self.trigger_event(self.RetryRequested, by=by, reason=reason)

    def resolve(self, by: str, reason: str) -> bool:
        if self.resolved:
            return False
        self.trigger_event(self.Resolved, by=by, reason=reason)
        return True
