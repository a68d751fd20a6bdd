"""Connect: connected accounts, transfers to them, transfer reversals, and balances.

Balances are derived from the objects (charges in, refunds, disputes and transfers out,
reversals back), so they can never drift from what the API shows. Callers hold the lock.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sandbox.clock import SandboxClock
from sandbox.stripe import objects
from sandbox.stripe.errors import StripeError, invalid_request, resource_missing
from sandbox.stripe.events import EventLog
from sandbox.stripe.ids import new_id
from sandbox.stripe.listing import paginate
from sandbox.stripe.money import format_amount
from sandbox.stripe.params import (
    AccountCreate,
    ListParams,
    ReversalCreate,
    TransferCreate,
    TransferList,
)
from sandbox.stripe.store import Store, snapshot

JSON = dict[str, Any]

# The demo mentor's connected account, seeded at start and after every reset: onboarded,
# charges and payouts enabled, ``transfers`` capability active.
DEMO_ACCOUNT_ID = "acct_sandboxmentor01"
_DEFAULT_CURRENCY = {
    "US": "usd",
    "GB": "gbp",
    "CA": "cad",
    "AU": "aud",
    "JP": "jpy",
    "CH": "chf",
    "DE": "eur",
    "FR": "eur",
    "ES": "eur",
    "IT": "eur",
    "NL": "eur",
    "IE": "eur",
    "BE": "eur",
    "AT": "eur",
    "PT": "eur",
    "FI": "eur",
}


class Connect:
    def __init__(self, store: Store, events: EventLog, clock: SandboxClock) -> None:
        self._store = store
        self._events = events
        self._clock = clock

    # Accounts ------------------------------------------------------------------------------

    def seed(self) -> None:
        self._store.add(
            objects.account(
                account_id=DEMO_ACCOUNT_ID,
                created=self._clock.timestamp(),
                type_="express",
                country="US",
                email="mentor@example.com",
                business_type="individual",
                business_name="Sandbox Mentor",
                business_url="https://mentor.example.com",
                default_currency="usd",
                capabilities={"card_payments": "active", "transfers": "active"},
                enabled=True,
                metadata={"sandbox": "demo mentor"},
            )
        )

    def create_account(self, p: AccountCreate) -> JSON:
        profile = p.business_profile
        # A new account has not been onboarded yet: nothing is enabled and every capability
        # is inactive (Stripe lists only requested ones; here both are always listed).
        return self._store.add(
            objects.account(
                account_id=new_id("acct_", 16),
                created=self._clock.timestamp(),
                type_=p.type,
                country=p.country,
                email=p.email,
                business_type=p.business_type,
                business_name=profile.name if profile else None,
                business_url=profile.url if profile else None,
                default_currency=p.default_currency or _DEFAULT_CURRENCY.get(p.country, "usd"),
                capabilities={"card_payments": "inactive", "transfers": "inactive"},
                enabled=False,
                metadata=dict(p.metadata),
            )
        )

    def account(self, account_id: str) -> JSON:
        return self._store.get("account", account_id, param="account")

    def list_accounts(self, p: ListParams) -> JSON:
        return paginate(self._store.all("account"), p, url="/v1/accounts", kind="account")

    def set_account_status(self, account_id: str, changes: dict[str, Any]) -> JSON:
        """What onboarding (or Stripe's review) does to an account; emits ``account.updated``.

        ``changes`` may hold ``charges_enabled``, ``payouts_enabled``, ``details_submitted``
        (booleans) and ``capabilities`` (``{"transfers": "active" | "inactive" | "pending"}``).
        """
        account = self.account(account_id)
        previous: JSON = {}
        for key in ("charges_enabled", "payouts_enabled", "details_submitted"):
            if key in changes and changes[key] != account[key]:
                previous[key] = account[key]
                account[key] = changes[key]
        capabilities = dict(account["capabilities"]) | changes.get("capabilities", {})
        if capabilities != account["capabilities"]:
            previous["capabilities"] = account["capabilities"]
            account["capabilities"] = capabilities
        onboarded = account["charges_enabled"] and account["payouts_enabled"]
        due = [] if onboarded else list(objects.ONBOARDING_REQUIREMENTS)
        if account["requirements"]["currently_due"] != due:
            previous["requirements"] = account["requirements"]
            account["requirements"] = objects.requirements(due)
        if previous:
            self._events.emit("account.updated", account, previous)
        return account

    # Transfers -----------------------------------------------------------------------------

    def create_transfer(self, p: TransferCreate) -> JSON:
        destination = self._store.find("account", p.destination)
        if destination is None:
            raise resource_missing("destination", p.destination, "destination", status=400)
        _check_can_receive(destination)
        if p.source_transaction is not None:
            self._check_source(p)
        else:
            available = self.platform_available().get(p.currency, 0)
            if p.amount > available:
                raise invalid_request(
                    "You have insufficient available funds in your Stripe account "
                    f"({format_amount(available, p.currency)} available). Try adding funds by "
                    "paying a checkout with a test card.",
                    param="amount",
                    code="balance_insufficient",
                )
        transfer = self._store.add(
            objects.transfer(
                transfer_id=new_id("tr_"),
                created=self._clock.timestamp(),
                amount=p.amount,
                currency=p.currency,
                destination=destination["id"],
                transfer_group=p.transfer_group,
                source_transaction=p.source_transaction,
                description=p.description,
                metadata=dict(p.metadata),
            )
        )
        self._events.emit("transfer.created", transfer)
        return transfer

    def _check_source(self, p: TransferCreate) -> None:
        """A transfer from a charge may move at most what the charge still holds."""
        charge = self._store.get(
            "charge", p.source_transaction or "", param="source_transaction", status=400
        )
        if charge["status"] != "succeeded":
            raise invalid_request(
                f"The source_transaction {charge['id']} did not succeed.",
                param="source_transaction",
            )
        if charge["currency"] != p.currency:
            raise invalid_request(
                f"The transfer's currency ({p.currency}) must be the currency of its "
                f"source_transaction ({charge['currency']}).",
                param="currency",
            )
        transferred = sum(
            t["amount"]
            for t in self._store.all("transfer")
            if t["source_transaction"] == charge["id"]
        )
        remaining = charge["amount"] - charge["amount_refunded"] - transferred
        if p.amount > remaining:
            raise invalid_request(
                f"The transfer amount ({format_amount(p.amount, p.currency)}) exceeds what "
                f"source_transaction {charge['id']} has left "
                f"({format_amount(max(remaining, 0), p.currency)}: its amount, less refunds "
                "and earlier transfers from it).",
                param="amount",
                code="balance_insufficient",
            )

    def transfer(self, transfer_id: str) -> JSON:
        return self._store.get("transfer", transfer_id, param="transfer")

    def list_transfers(self, p: TransferList) -> JSON:
        transfers = [
            t
            for t in self._store.all("transfer")
            if (p.destination is None or t["destination"] == p.destination)
            and (p.transfer_group is None or t["transfer_group"] == p.transfer_group)
        ]
        return paginate(transfers, p, url="/v1/transfers", kind="transfer")

    # Reversals -----------------------------------------------------------------------------

    def create_reversal(self, transfer_id: str, p: ReversalCreate) -> JSON:
        transfer = self._store.get("transfer", transfer_id, param="id")
        remaining = transfer["amount"] - transfer["amount_reversed"]
        if remaining == 0:
            raise invalid_request(
                f"Transfer {transfer_id} has already been fully reversed.", param="amount"
            )
        amount = remaining if p.amount is None else p.amount
        if amount > remaining:
            currency = transfer["currency"]
            raise invalid_request(
                f"The reversal amount ({format_amount(amount, currency)}) is greater than the "
                f"amount of the transfer not yet reversed ({format_amount(remaining, currency)})",
                param="amount",
                code="amount_too_large",
            )
        # Connected accounts never pay out here, so their balance always covers a reversal.
        reversal = self._store.add(
            objects.transfer_reversal(
                reversal_id=new_id("trr_"),
                created=self._clock.timestamp(),
                amount=amount,
                of_transfer=transfer,
                metadata=dict(p.metadata),
            )
        )
        previous = {
            "amount_reversed": transfer["amount_reversed"],
            "reversed": transfer["reversed"],
        }
        transfer["amount_reversed"] += amount
        transfer["reversed"] = transfer["amount_reversed"] == transfer["amount"]
        transfer["reversals"]["data"].insert(0, snapshot(reversal))
        self._events.emit("transfer.reversed", transfer, previous)
        return reversal

    def reversal(self, transfer_id: str, reversal_id: str) -> JSON:
        reversal = self._store.find("transfer_reversal", reversal_id)
        if reversal is None or reversal["transfer"] != self.transfer(transfer_id)["id"]:
            raise resource_missing("transfer_reversal", reversal_id, "id")
        return reversal

    def list_reversals(self, transfer_id: str, p: ListParams) -> JSON:
        transfer = self.transfer(transfer_id)
        reversals = [
            r for r in self._store.all("transfer_reversal") if r["transfer"] == transfer["id"]
        ]
        return paginate(
            reversals, p, url=f"/v1/transfers/{transfer_id}/reversals", kind="transfer_reversal"
        )

    # Balances ------------------------------------------------------------------------------

    def platform_available(self) -> dict[str, int]:
        """Charges land in the available balance at once here (see the README)."""
        totals: dict[str, int] = defaultdict(int)
        for charge in self._store.all("charge"):
            if charge["status"] == "succeeded":
                totals[charge["currency"]] += charge["amount"]
        for kind in ("refund", "dispute"):
            for item in self._store.all(kind):
                totals[item["currency"]] -= item["amount"]
        for transfer in self._store.all("transfer"):
            totals[transfer["currency"]] -= transfer["amount"] - transfer["amount_reversed"]
        return dict(totals)

    def balance(self, account_id: str | None) -> JSON:
        if account_id is None:
            available = self.platform_available()
        else:
            if self._store.find("account", account_id) is None:
                raise StripeError(
                    403,
                    "invalid_request_error",
                    f"The provided key does not have access to account '{account_id}' (or "
                    "that account does not exist).",
                    code="account_invalid",
                )
            available = defaultdict(int)
            for transfer in self._store.all("transfer"):
                if transfer["destination"] == account_id:
                    available[transfer["currency"]] += (
                        transfer["amount"] - transfer["amount_reversed"]
                    )
        currencies = ["usd", *sorted(c for c in available if c != "usd")]
        return objects.balance(available, currencies)


def _check_can_receive(account: JSON) -> None:
    if account["capabilities"].get("transfers") != "active":
        raise invalid_request(
            "Your destination account needs to have at least one of the following "
            "capabilities enabled: transfers, crypto_transfers, legacy_payments",
            param="destination",
            code="insufficient_capabilities_for_transfer",
        )
    if not account["payouts_enabled"]:
        raise invalid_request(
            f"Transfers to {account['id']} are refused while its payouts are disabled.",
            param="destination",
            code="transfers_not_allowed",
        )
