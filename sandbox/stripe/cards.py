"""Stripe's test card numbers and what each one does when a customer pays with it."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sandbox.stripe.errors import StripeError, card_error


@dataclass(frozen=True)
class Decline:
    code: str  # the error's ``code`` (and the charge's ``failure_code``)
    decline_code: str
    message: str


@dataclass(frozen=True)
class TestCard:
    number: str
    brand: str
    funding: str = "credit"
    country: str = "US"
    decline: Decline | None = None

    @property
    def last4(self) -> str:
        return self.number[-4:]

    @property
    def fingerprint(self) -> str:
        # Stable per number, like Stripe's: the same card always has the same fingerprint.
        return hashlib.sha256(self.number.encode()).hexdigest()[:16]


_DECLINED = "Your card was declined."
TEST_CARDS: dict[str, TestCard] = {
    card.number: card
    for card in (
        TestCard("4242424242424242", "visa"),
        TestCard("4000056655665556", "visa", funding="debit"),
        TestCard("4000000000000077", "visa"),  # funds available at once (all are, here)
        TestCard("5555555555554444", "mastercard"),
        TestCard("378282246310005", "amex"),
        TestCard("6011111111111117", "discover"),
        TestCard(
            "4000000000000002",
            "visa",
            decline=Decline("card_declined", "generic_decline", _DECLINED),
        ),
        TestCard(
            "4000000000009995",
            "visa",
            decline=Decline(
                "card_declined", "insufficient_funds", "Your card has insufficient funds."
            ),
        ),
        TestCard(
            "4000000000009987", "visa", decline=Decline("card_declined", "lost_card", _DECLINED)
        ),
        TestCard(
            "4000000000009979", "visa", decline=Decline("card_declined", "stolen_card", _DECLINED)
        ),
        TestCard(
            "4000000000000069",
            "visa",
            decline=Decline("expired_card", "expired_card", "Your card has expired."),
        ),
        TestCard(
            "4000000000000127",
            "visa",
            decline=Decline(
                "incorrect_cvc", "incorrect_cvc", "Your card's security code is incorrect."
            ),
        ),
        TestCard(
            "4000000000000119",
            "visa",
            decline=Decline(
                "processing_error",
                "processing_error",
                "An error occurred while processing your card. Try again in a little bit.",
            ),
        ),
    )
}

# A well-formed number that is not a test card: Stripe's test mode declines live cards.
_LIVE_CARD = Decline(
    "card_declined",
    "test_mode_live_card",
    "Your card was declined. Your request was in test mode, but used a non test (live) card. "
    "For a list of valid test cards, visit: https://stripe.com/docs/testing.",
)


def luhn_valid(number: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(number)):
        digit = int(char)
        if index % 2 == 1:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def card_for(raw: str) -> TestCard:
    """The card a customer typed (spaces and dashes allowed); 402 if it is not a card number."""
    number = raw.replace(" ", "").replace("-", "")
    if not (
        number.isascii() and number.isdigit() and 12 <= len(number) <= 19 and luhn_valid(number)
    ):
        raise _incorrect_number()
    return TEST_CARDS.get(number) or TestCard(number, "visa", decline=_LIVE_CARD)


def _incorrect_number() -> StripeError:
    error = card_error("Your card number is incorrect.", "incorrect_number")
    error.param = "number"
    return error
