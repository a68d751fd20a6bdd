"""The log reader finance's tools share: topic-filtered reads miss nothing and repeat nothing."""

from __future__ import annotations

import pytest

from ledger import Booking, Payment
from projections.event_log import head_position, iter_notifications
from tests.support.books import Books
from tests.support.ledger_factories import paid_booking, paid_out, request_booking

RUN_WITHOUT_MATCHES = 21


@pytest.mark.parametrize("batch_size", [1, 2, 1000])
def test_a_topic_filtered_read_gives_exactly_those_events_in_log_order(
    books: Books, batch_size: int
) -> None:
    ledger = books.ledger
    # Sparse matches: runs of events with none of the topics, longer than a batch.
    for _ in range(3):
        for _ in range(RUN_WITHOUT_MATCHES):
            request_booking(ledger)
        paid_out(ledger)
    paid_booking(ledger)
    topics = [Payment.Paid.TOPIC, Booking.Booked.TOPIC]
    everything = list(iter_notifications(ledger, batch_size=1000))
    assert len(everything) == head_position(ledger) > RUN_WITHOUT_MATCHES

    filtered = list(iter_notifications(ledger, topics=topics, batch_size=batch_size))

    expected = [n.id for n in everything if n.topic in topics]
    assert [n.id for n in filtered] == expected != []
    # From a position to a stop: only what lies between.
    after, stop = expected[0], expected[-1] - 1
    middle = iter_notifications(
        ledger, after=after, stop=stop, topics=topics, batch_size=batch_size
    )
    assert [n.id for n in middle] == [i for i in expected if after < i <= stop]
