"""Chart of accounts and the double-entry postings of each ledger event.

Accounts (amounts in the event's currency, minor units):

- ``stripe:balance`` (asset): money Stripe holds for the platform. Debited by a
  payment, credited by a refund or a transfer to a mentor.
- ``bookings:clearing`` (liability): money received for a booking that is not yet
  earned. Credited by a payment; debited when the booking is booked (the money is
  then owed to the mentor and the platform) or by a refund before that.
- ``mentor:<mentor id>:payable`` (liability): what the platform owes a mentor.
  Credited with price minus fee on booking; debited by a refund's mentor share and by
  a transfer; credited back by a transfer reversal.
- ``platform:fees`` (revenue): the platform's fee, credited on booking, debited by a
  refund's fee share.

| event                            | debit                         | credit                       |
|----------------------------------|-------------------------------|------------------------------|
| Payment.Paid                     | stripe:balance                | bookings:clearing            |
| Booking.Booked                   | bookings:clearing             | mentor payable, platform:fees|
| Payment.Refunded                 | clearing / payable / fees     | stripe:balance               |
|                                  | (by the event's split)        |                              |
| Payment.PaidOut                  | mentor payable                | stripe:balance               |
| Payment.PayoutReversed           | stripe:balance                | mentor payable               |

CheckoutIntent events (recorded before a checkout's side effects) move no money.

Every other event moves no money and posts nothing. ``postings_for`` is pure: the
postings follow from the event's own fields, so any projection gets the same journal.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Literal, NamedTuple

from ledger.booking import Booking
from ledger.payment import Payment

STRIPE_BALANCE = "stripe:balance"
BOOKINGS_CLEARING = "bookings:clearing"
PLATFORM_FEES = "platform:fees"

Side = Literal["debit", "credit"]


def mentor_payable(mentor_id: str) -> str:
    return f"mentor:{mentor_id}:payable"


class Posting(NamedTuple):
    """One journal line. A named tuple (immutable, as before): a replay builds one for every
    line of the log, and a frozen dataclass's ``__init__`` costs several times as much."""

    account: str
    side: Side
    amount: int
    currency: str


def _entries(currency: str, *entries: tuple[str, Side, int]) -> tuple[Posting, ...]:
    # Zero-amount lines (e.g. a refund entirely out of clearing) are noise in a journal.
    return tuple(
        [Posting(account, side, amount, currency) for account, side, amount in entries if amount]
    )


def postings_for(event: object) -> tuple[Posting, ...]:
    """The balanced journal lines ``event`` posts; ``()`` when it moves no money."""
    match event:
        case Payment.Paid():
            return _entries(
                event.currency,
                (STRIPE_BALANCE, "debit", event.amount),
                (BOOKINGS_CLEARING, "credit", event.amount),
            )
        case Booking.Booked():
            return _entries(
                event.currency,
                (BOOKINGS_CLEARING, "debit", event.price_amount),
                (
                    mentor_payable(event.mentor_id),
                    "credit",
                    event.price_amount - event.platform_fee_amount,
                ),
                (PLATFORM_FEES, "credit", event.platform_fee_amount),
            )
        case Payment.Refunded():
            return _entries(
                event.currency,
                (BOOKINGS_CLEARING, "debit", event.from_clearing),
                (mentor_payable(event.mentor_id), "debit", event.from_mentor_payable),
                (PLATFORM_FEES, "debit", event.from_platform_fees),
                (STRIPE_BALANCE, "credit", event.amount),
            )
        case Payment.PaidOut():
            return _entries(
                event.currency,
                (mentor_payable(event.mentor_id), "debit", event.amount),
                (STRIPE_BALANCE, "credit", event.amount),
            )
        case Payment.PayoutReversed():
            return _entries(
                event.currency,
                (STRIPE_BALANCE, "debit", event.amount),
                (mentor_payable(event.mentor_id), "credit", event.amount),
            )
    return ()


def is_balanced(postings: Iterable[Posting]) -> bool:
    """Debits equal credits in every currency."""
    net: defaultdict[str, int] = defaultdict(int)
    for posting in postings:
        net[posting.currency] += posting.amount if posting.side == "debit" else -posting.amount
    return not any(net.values())


def balances(postings: Iterable[Posting]) -> dict[tuple[str, str], int]:
    """Net balance per (account, currency), debits positive: a trial balance."""
    net: defaultdict[tuple[str, str], int] = defaultdict(int)
    for posting in postings:
        sign = 1 if posting.side == "debit" else -1
        net[(posting.account, posting.currency)] += sign * posting.amount
    return dict(net)
