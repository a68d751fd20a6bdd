"""Payouts: once a payment's hold has passed, its mentor's share goes to their Stripe account.

Per payment: ``PayoutEligible`` (the ledger re-checks every guard; a refusal means skip) →
Stripe transfer → ``PaidOut``, or ``PayoutFailed``. A payment is never transferred twice:

- runs are serialised (a PostgreSQL advisory lock; on SQLite a file lock next to the database),
- a transfer left unrecorded by an interrupted run is found by its transfer group (the booking
  id) before another is made: Stripe forgets idempotency keys after 24 hours,
- the transfer itself carries the idempotency key ``transfer:<payment id>``.

Which payments are due comes from the ``payments`` read model, caught up to the ledger's head
first, so a run sees every event written before it started.

A run pays out on a few threads (``concurrency``), each payment on exactly one of them, and
paces every request it makes to Stripe (``max_requests_per_second``) to stay well under Stripe's
rate limit, which counts an account's requests from every process: every attempt, the SDK's own
retries of a dropped connection or a 5xx included (``StripeGateway.paced``). A 429 is transient:
the payout is recorded as a retryable failure and the next run pays it out, after the look-up by
transfer group.

The pace holds across processes without any shared counter: every request a payout makes is
made inside the run lock, so only one process at a time makes them, and a run keeps the lock
until its pacer's next free slot, so the next run (in any process) cannot start closer than one
interval after this run's last request. Any N payout requests to the account, from however
many workers and servers, thus take at least (N - 1) / rate seconds (the rate of the process
whose run makes them).

A run stops early when the process is stopping (``stopping``: the SIGTERM of ``serve`` and
``worker``, Ctrl-C or SIGTERM of ``payouts run``): a 10,000-payment run at the default pace
lasts about 17 minutes, too long to hold up a shutdown. It starts no new payout, lets the ones
in flight finish (at most one per thread, each a few paced requests) and returns its counts;
the payments it left are still due, and the next run, in this process or another, pays them
out. A run still waiting for the run lock (another run is going on) gives up at once instead:
``PayoutsStopping``, nothing done.

A run also stops early, the same way, when it finds it has lost the run lock: on PostgreSQL
the lock lives in a database session, which a dropped connection or a terminated backend
ends, and another run may then begin. Each payout checks the lock before it begins (one
round trip per half second at most, shared with the process's follower locks); the payments
left are counted in ``left`` and logged at ERROR.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from uuid import UUID

from ledger import (
    ConflictingRecord,
    Ledger,
    Money,
    Payment,
    PaymentStatus,
    PayoutNotAllowed,
)
from processes.gateways.stripe_gateway import (
    StripeGateway,
    StripeGatewayError,
    StripeRequestRefused,
    TransferInfo,
)
from processes.services.errors import ServiceError
from projections import tracking
from projections.catalog import Catalog
from projections.event_log import head_position
from projections.follower import Follower, FollowerBusy
from projections.leadership import LOCK_RETRY_SECONDS, StoppedWaiting, exclusive
from projections.payments import PaymentsProjection, PayoutCandidate, payout_candidates
from projections.store import ReadModelStore

log = logging.getLogger(__name__)

_RUN_LOCK_NAME = "payouts-run"
_NOT_STARTED = (
    "the process is stopping: this payout run did not start (another run was in progress);"
    " the due payments stay due for the next run"
)


def transfer_idempotency_key(payment_id: UUID) -> str:
    return f"transfer:{payment_id}"


class PayoutsUnavailable(ServiceError):
    """The payments read model could not catch up with the ledger in time; nothing was done."""

    status = 503
    title = "Payouts temporarily unavailable"


class PayoutsStopping(ServiceError):
    """The process is stopping before this run began (it was waiting for another run to end);
    nothing was done, and every due payment stays due for the next run."""

    status = 503
    title = "Payouts stopping"


@dataclass(frozen=True)
class PayoutRunResult:
    eligible: int  # payments cleared for transfer in this run (new, or left over by another)
    paid_out: int  # transfers made (or found) and recorded
    failed: int  # payouts that failed; retried next run when retryable, else left for finance
    failures: tuple[str, ...] = field(default=(), compare=False)  # "payment id: error"
    # Due payments not begun because the process is stopping or the run lost its lock (its
    # database session ended); still due: the next run pays them out.
    left: int = 0


class PayoutService:
    def __init__(
        self,
        ledger: Ledger,
        store: ReadModelStore,
        catalog: Catalog,
        stripe: StripeGateway,
        *,
        hold: timedelta,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        read_model: Follower | None = None,
        catch_up_timeout: float = 30.0,
        after_session: timedelta | None = None,
        concurrency: int = 4,
        max_requests_per_second: float | None = 20.0,
        stopping: threading.Event | None = None,
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self._ledger = ledger
        self._concurrency = concurrency
        # One pacer for the service, so back-to-back runs and retries share its budget too.
        self._pacer = _RequestPacer(max_requests_per_second)
        # None: the hold alone decides; otherwise the session must also have ended this long ago.
        self._after_session = after_session
        self._store = store
        self._catalog = catalog
        self._stripe = stripe
        self._hold = hold
        self._clock = clock
        # Serialises this process's runs (on a ``memory://`` store, the only thing that does).
        self._local_run_lock = threading.Lock()
        # The process's shutdown signal (never set when none is given): a run stops early.
        self._stopping = stopping or threading.Event()
        self._catch_up_timeout = catch_up_timeout
        # A follower of our own: it catches the read model up itself when no worker runs it
        # (the CLI), and otherwise polls the active worker's position (any process).
        self._read_model = read_model or Follower(
            ledger, store, PaymentsProjection(), poll_interval=0.05
        )

    def run(self, *, on_wait: Callable[[], None] | None = None) -> PayoutRunResult:
        """Pay out everything due now; waits while another run (any process) is going on,
        calling ``on_wait`` once if it must. Raises ``PayoutsStopping`` if the process stops
        before the run began."""
        with self._exclusive_run(on_wait) as still_held:
            self._ensure_tables()
            self._catch_up()
            now = self._clock()
            with self._store.transaction(readonly=True) as tx:
                ended_before = None if self._after_session is None else now - self._after_session
                candidates = payout_candidates(tx, now - self._hold, ended_before)
            # No transaction is open from here on: each step below is an HTTP call or a ledger
            # command of its own.
            tally = _Tally()
            self._process_all(candidates, now, tally, still_held)
        result = tally.result()
        if candidates:
            log.info(
                "payout run: %d due, %d eligible, %d paid out, %d failed%s",
                len(candidates),
                result.eligible,
                result.paid_out,
                result.failed,
                f", {result.left} left for the next run" if result.left else "",
            )
        return result

    def retry_one(self, payment_id: UUID, *, attempt: int) -> PayoutRunResult:
        """Pay out one payment now, e.g. one whose payout failed for good once the mentor's
        account is fixed (the attention queue's retry number ``attempt``); the same checks as
        a run, and the same look-up of an earlier transfer before a new one is made."""
        with self._exclusive_run():
            payment = self._ledger.get_payment(payment_id)
            candidate = PayoutCandidate(
                payment_id=str(payment.id),
                booking_id=str(payment.booking_id),
                mentor_id=payment.mentor_id,
                status=payment.status,
                paid_at=payment.paid_at,
            )
            tally = _Tally(key_suffix=f":retry-{attempt}")
            self._process(candidate, self._clock(), tally, reopen=True)
        return tally.result()

    def _process_all(
        self,
        candidates: list[PayoutCandidate],
        now: datetime,
        tally: _Tally,
        still_held: Callable[[], bool],
    ) -> None:
        """Each candidate on exactly one thread: the pool hands out every item of the list
        once. A few threads hide Stripe's and the database's round trips; more would only
        queue on the request pacer and the ledger's connection pool. Once the process is
        stopping, or the run has lost its lock, the candidates not yet begun are left
        (counted) for the next run."""
        go_on = _GoOn(self._stopping, still_held)
        workers = min(self._concurrency, len(candidates))
        if workers <= 1:
            for candidate in candidates:
                self._process_if(go_on, candidate, now, tally)
            return
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="payout") as pool:
            # Never raises; list() waits for them all (the ones left return at once).
            list(
                pool.map(
                    lambda candidate: self._process_if(go_on, candidate, now, tally),
                    candidates,
                )
            )

    def _process_if(
        self, go_on: _GoOn, candidate: PayoutCandidate, now: datetime, tally: _Tally
    ) -> None:
        # Checked before the payment is touched: a payout, once begun, runs to its end (its
        # transfer recorded), so a stop never leaves more than the usual interrupted-run state.
        if not go_on():
            tally.leave()
            return
        self._process(candidate, now, tally)

    # -- one payment ------------------------------------------------------------------------

    def _process(
        self, candidate: PayoutCandidate, now: datetime, tally: _Tally, *, reopen: bool = False
    ) -> None:
        try:
            self._pay_out(candidate, now, tally, reopen=reopen)
        except Exception as error:
            # One payment's surprise (a conflicting record, the ledger unreachable) must not
            # stop the others; it stays due and is tried again next run.
            log.exception("payout of payment %s failed", candidate.payment_id)
            tally.fail(f"{candidate.payment_id}: {type(error).__name__}: {error}")

    def _pay_out(
        self, candidate: PayoutCandidate, now: datetime, tally: _Tally, *, reopen: bool = False
    ) -> None:
        try:
            payment = self._make_eligible(candidate, now, reopen=reopen)
        except _NotPayable as reason:
            log.error("payment %s cannot be paid out: %s", candidate.payment_id, reason)
            tally.fail(f"{candidate.payment_id}: {reason}")
            return
        if payment is None:
            return
        tally.count_eligible()
        try:
            transfer = self._transfer(payment, tally)
        except (_NotPayable, StripeGatewayError) as error:
            self._record_failure(payment, error, tally)
            return
        self._ledger.record_paid_out(
            payment_id=payment.id, transfer_id=transfer.id, amount=transfer.amount
        )
        tally.count_paid_out()
        log.info(
            "paid out %s of payment %s to %s (transfer %s)",
            transfer.amount.format(),
            payment.id,
            transfer.destination,
            transfer.id,
        )

    def _make_eligible(
        self, candidate: PayoutCandidate, now: datetime, *, reopen: bool = False
    ) -> Payment | None:
        """The payment cleared for transfer, or None if it may not (or need not) be paid out.
        ``reopen``: a payout that failed for good is tried again (an operator's retry)."""
        payment_id = UUID(candidate.payment_id)
        payment = self._ledger.get_payment(payment_id)
        reopening = reopen and payment.status == PaymentStatus.PAYOUT_FAILED
        payable = (PaymentStatus.SUCCEEDED, PaymentStatus.PARTIALLY_REFUNDED)
        if payment.status in payable or reopening:
            mentor = self._catalog.mentor(payment.mentor_id)
            if mentor is None:
                raise _NotPayable(f"mentor {payment.mentor_id!r} is not in the catalogue")
            try:
                payment = self._ledger.mark_payout_eligible(
                    payment_id=payment_id,
                    destination_account=mentor.stripe_account_id,
                    now=now,
                    hold=self._hold,
                    after_session=self._after_session,
                )
            except (PayoutNotAllowed, ConflictingRecord) as refusal:
                log.info("payment %s is not paid out: %s", payment_id, refusal)
                return None
        # Anything else (paid, refunded, failed for good...) is not ours to touch.
        return payment if payment.status == PaymentStatus.PAYOUT_ELIGIBLE else None

    def _transfer(self, payment: Payment, tally: _Tally) -> TransferInfo:
        """The transfer for this payment: an earlier attempt's, or a new one. Every request
        it makes to Stripe waits for the pace, each retry of the SDK's included."""
        with self._stripe.paced(self._pacer.wait):
            return self._find_or_make_transfer(payment, tally)

    def _find_or_make_transfer(self, payment: Payment, tally: _Tally) -> TransferInfo:
        existing = self._existing_transfer(payment)
        if existing is not None:
            log.info("payment %s: found transfer %s of an earlier run", payment.id, existing.id)
            return existing
        # The payment may have changed since it was cleared (a dispute, a refunded cancellation)
        # or since an interrupted run cleared it: such a payout fails for good, so a refund may
        # proceed.
        held_back = self._held_back(payment)
        if held_back is not None:
            raise _NotPayable(held_back)
        destination = payment.destination_account
        assert destination is not None and payment.transfer_amount is not None
        refusal = tally.account_refusal(destination, self._account_refusal)
        if refusal is not None:
            raise _NotPayable(refusal)
        return self._stripe.create_transfer(
            amount=Money(payment.transfer_amount, payment.currency),
            destination=destination,
            source_transaction=payment.charge_id,
            transfer_group=str(payment.booking_id),
            metadata={
                "payment_id": str(payment.id),
                "booking_id": str(payment.booking_id),
                "mentor_id": payment.mentor_id,
            },
            idempotency_key=transfer_idempotency_key(payment.id) + tally.key_suffix,
        )

    def _held_back(self, payment: Payment) -> str | None:
        """Why this payment may no longer be paid out, or None if it still may."""
        current = self._ledger.get_payment(payment.id)
        if current.disputed:
            return f"payment {payment.id} is disputed"
        booking = self._ledger.get_booking(current.booking_id)
        # A booking cancelled without a refund still owes the mentor: the transfer goes ahead.
        if not booking.is_payable_with(current.id):
            return f"booking {booking.id} is {booking.status} and no longer owes its mentor"
        return None

    def _existing_transfer(self, payment: Payment) -> TransferInfo | None:
        for transfer in self._stripe.list_transfers(transfer_group=str(payment.booking_id)):
            # Each payment has its own charge; a duplicate payment of the booking has another.
            if transfer.source_transaction == payment.charge_id:
                return transfer
        return None

    def _account_refusal(self, account_id: str) -> str | None:
        """Why this connected account cannot receive a transfer now, or None if it can."""
        account = self._stripe.retrieve_account(account_id)
        if not account.transfers_active:
            return f"connected account {account_id} cannot receive transfers"
        return None

    def _record_failure(self, payment: Payment, error: Exception, tally: _Tally) -> None:
        # A refusal (an account that cannot receive, Stripe said no) stays refused until
        # someone acts; anything else (network, 5xx, rate limit, an odd answer) may pass later.
        retryable = not isinstance(error, _NotPayable | StripeRequestRefused)
        message = str(error) or type(error).__name__
        self._ledger.record_payout_failed(payment_id=payment.id, error=message, retryable=retryable)
        log.warning(
            "payout of payment %s failed (%s): %s",
            payment.id,
            "will retry" if retryable else "not retried",
            message,
        )
        tally.fail(f"{payment.id}: {message}")

    # -- run plumbing -----------------------------------------------------------------------

    def _catch_up(self) -> None:
        """Read-your-writes: the read model must have applied everything the ledger holds."""
        head = head_position(self._ledger)
        if not self._read_model.is_running:
            # Busy: a worker (here or elsewhere) is applying it; wait for that one below.
            with contextlib.suppress(FollowerBusy):
                self._read_model.run_until_caught_up()
        if not self._read_model.wait_for(head, self._catch_up_timeout):
            raise PayoutsUnavailable(
                f"the payments read model did not reach position {head} within "
                f"{self._catch_up_timeout:g}s; is a worker running?"
            )

    def _ensure_tables(self) -> None:
        """A fresh database has no payments table until the payments follower first runs:
        the first run must not fail on it (and wait an hour for the next)."""
        with self._store.ddl_transaction() as tx:
            tracking.create_table(tx)
            PaymentsProjection().create_tables(tx)

    @contextlib.contextmanager
    def _exclusive_run(
        self, on_wait: Callable[[], None] | None = None
    ) -> Iterator[Callable[[], bool]]:
        """Hold the run lock for the block; both waits below end as soon as the process stops.

        Within the process first: concurrent callers here (20 cron calls at once) queue on a
        thread lock, not each on a database connection of its own. Across processes the lock
        is no transaction, so no HTTP call runs inside one, and it dies with its holder.
        """
        told = False

        def waiting() -> None:
            nonlocal told
            if not told:
                told = True
                log.info("payout run: waiting for the run in progress to end")
                if on_wait is not None:
                    on_wait()

        while not self._local_run_lock.acquire(timeout=LOCK_RETRY_SECONDS):
            waiting()
            if self._stopping.is_set():
                raise PayoutsStopping(_NOT_STARTED)
        try:
            with contextlib.ExitStack() as held:
                try:
                    still_held = held.enter_context(
                        exclusive(self._store, _RUN_LOCK_NAME, stop=self._stopping, on_wait=waiting)
                    )
                except StoppedWaiting:
                    raise PayoutsStopping(_NOT_STARTED) from None
                # Before the lock's release: the next run, here or in another process, starts
                # no closer to this run's last request than the pace allows.
                held.callback(self._pacer.wait_for_next_slot)
                yield still_held
        finally:
            self._local_run_lock.release()


class _GoOn:
    """Whether a run may begin another payout: not once the process is stopping, nor once it
    has lost its run lock. Without the lock, another run (any process) may start meanwhile:
    the look-up and the idempotency key still keep a payment from being paid twice, but two
    runs would make requests at twice the pace, so this one leaves the rest to the next."""

    def __init__(self, stopping: threading.Event, still_held: Callable[[], bool]) -> None:
        self._stopping = stopping
        self._still_held = still_held
        self._lost = threading.Event()

    def __call__(self) -> bool:
        if self._stopping.is_set() or self._lost.is_set():
            return False
        if self._still_held():
            return True
        if not self._lost.is_set():
            self._lost.set()
            log.error(
                "payout run: lost its run lock; the payouts not begun are left to the next run"
            )
        return False


class _NotPayable(Exception):
    """This payout cannot be made as things stand (recorded as a non-retryable failure)."""


class _RequestPacer:
    """Spaces requests at least ``1 / rate`` seconds apart, across threads: N requests take at
    least (N - 1) / rate seconds, and none is ever refused (the caller waits its turn).

    Not the ``limits`` library the API uses: its limiters answer "allowed or not" without a
    blocking wait, and a window lets a full window's worth through at once; here every caller
    must go ahead, only later, and evenly.
    """

    def __init__(self, rate: float | None) -> None:
        if rate is not None and rate <= 0:
            raise ValueError("the request rate must be positive (or None: unpaced)")
        self._interval = 0.0 if rate is None else 1.0 / rate
        self._lock = threading.Lock()
        self._next = 0.0  # monotonic time of the next free slot

    def wait(self) -> None:
        if not self._interval:
            return
        with self._lock:  # reserve a slot; the wait for it happens outside the lock
            slot = max(time.monotonic(), self._next)
            self._next = slot + self._interval
        _sleep_until(slot)

    def wait_for_next_slot(self) -> None:
        """Return once a request made now would keep to the pace (at most one interval)."""
        with self._lock:
            slot = self._next
        _sleep_until(slot)


def _sleep_until(moment: float) -> None:
    delay = moment - time.monotonic()
    if delay > 0:
        time.sleep(delay)  # pacing toward Stripe, not synchronisation


@dataclass
class _Tally:
    """The counts and per-run caches of one payout run, shared by its threads."""

    eligible: int = 0
    paid_out: int = 0
    left: int = 0
    failures: list[str] = field(default_factory=list)
    accounts: dict[str, str | None] = field(default_factory=dict)  # account -> refusal or None
    # A retry after a failure for good needs a fresh key: Stripe replays a key's refusal.
    key_suffix: str = ""
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def count_eligible(self) -> None:
        with self._lock:
            self.eligible += 1

    def count_paid_out(self) -> None:
        with self._lock:
            self.paid_out += 1

    def leave(self) -> None:
        with self._lock:
            self.left += 1

    def fail(self, message: str) -> None:
        with self._lock:
            self.failures.append(message)

    def account_refusal(self, account: str, look_up: Callable[[str], str | None]) -> str | None:
        """The account's refusal, looked up once per run (two threads racing may both look it
        up, a harmless read; the look-up itself runs outside the lock)."""
        with self._lock:
            if account in self.accounts:
                return self.accounts[account]
        refusal = look_up(account)
        with self._lock:
            return self.accounts.setdefault(account, refusal)

    def result(self) -> PayoutRunResult:
        with self._lock:
            return PayoutRunResult(
                self.eligible,
                self.paid_out,
                len(self.failures),
                tuple(self.failures),
                left=self.left,
            )


class PayoutSchedule:
    """Runs the payouts at start and then every ``interval`` seconds on a thread of its own.

    It never dies of an error (it logs it and tries again next time). ``stopping`` is the
    process's shutdown signal: setting it ends the thread, and ``stop()`` sets it.
    """

    def __init__(self, service: PayoutService, interval: float, stopping: threading.Event) -> None:
        if interval <= 0:
            raise ValueError("interval must be positive")
        self._service = service
        self._interval = interval
        self._stopping = stopping
        self._thread: threading.Thread | None = None
        self.runs = 0  # completed runs, for health checks and tests
        self.last_error: str | None = None
        self.last_result: PayoutRunResult | None = None

    @property
    def is_running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        if self.is_running:
            return
        self._thread = threading.Thread(target=self._loop, name="payout-schedule", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Signal shutdown and wait for a run in progress to end (at most ``timeout``)."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.warning("the payout schedule did not stop within %ss", timeout)
            else:
                self._thread = None

    def _loop(self) -> None:
        # At start too: a process restarted more often than hourly must still pay out.
        while not self._stopping.is_set():
            try:
                self.last_result = self._service.run()
                self.last_error = None
            except PayoutsStopping:
                return  # stopped while another run held the lock: nothing done, no error
            except Exception as error:
                self.last_error = f"{type(error).__name__}: {error}"
                log.exception("scheduled payout run failed")
            self.runs += 1
            if self._stopping.wait(self._interval):
                return
