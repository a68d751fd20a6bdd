"""Composition root: build the ledger, the read-model store, the gateways, the services and
the followers from settings. Nothing else in the product constructs these."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from api.dependencies import ApiServices, LifecycleServices
from api.rate_limits import CheckoutRateLimits
from ledger import Ledger
from ledger.session_policy import SessionPolicy
from mentorpay.immutability import protect_event_table
from mentorpay.persistence import eventsourcing_env, wait_for_database
from mentorpay.settings import Settings
from processes.gateways.calcom_gateway import CalcomGateway
from processes.gateways.stripe_gateway import StripeGateway
from processes.managers.calendar_cancellation import CalendarCancellation
from processes.managers.fulfilment import Fulfilment
from processes.managers.no_show_refunds import NoShowRefunds
from processes.managers.notifications import Notifications, SmtpMailer
from processes.managers.refunds import Refunds
from processes.managers.reservations import ReservationRelease
from processes.services.attention import AttentionService
from processes.services.cancellations import CancellationService
from processes.services.checkout import CheckoutService, CheckoutSettings
from processes.services.confirmation import ConfirmationService
from processes.services.no_shows import NoShowService
from processes.services.payouts import PayoutSchedule, PayoutService
from processes.services.reschedule import RescheduleService
from processes.services.slots import SlotService
from processes.services.stripe_events import StripeEventHandler
from projections.bookings import BookingsProjection, open_checkout_expiries
from projections.catalog import Catalog
from projections.catalog_policies import CatalogPolicies
from projections.dispatch import WorkDispatcher
from projections.event_log import head_position
from projections.follower import Follower, Process, Projection, RetryPolicy
from projections.journal import JournalProjection
from projections.no_shows import NoShowsProjection
from projections.payments import PaymentsProjection
from projections.store import ReadModelStore
from projections.work_pool import ProcessWorker, WorkPool, WorkSettings

log = logging.getLogger(__name__)


@dataclass
class Container:
    settings: Settings
    ledger: Ledger
    store: ReadModelStore
    catalog: Catalog
    stripe: StripeGateway
    calcom: CalcomGateway
    checkout: CheckoutService
    confirmation: ConfirmationService
    stripe_events: StripeEventHandler
    payouts: PayoutService
    cancellations: CancellationService
    slots: SlotService
    attention: AttentionService
    dispatcher: Follower
    work: WorkPool
    lifecycle: LifecycleServices | None = None
    payout_schedule: PayoutSchedule | None = None
    projections: dict[str, Follower] = field(default_factory=dict)
    # Each process manager's share of the work pool (start/stop/wait_for, as a follower has).
    processes: dict[str, ProcessWorker] = field(default_factory=dict)
    stopping: threading.Event = field(default_factory=threading.Event)

    @property
    def followers(self) -> list[Follower]:
        """Every follower of the log: the read models and the work dispatcher."""
        return [*self.projections.values(), self.dispatcher]

    def start_workers(self) -> None:
        """Run every projection, the dispatcher and the work pool on threads of this process."""
        for follower in self.followers:
            follower.start()
        self.work.start()
        self.payout_schedule = PayoutSchedule(
            self.payouts, self.settings.payout_interval_seconds, self.stopping
        )
        self.payout_schedule.start()

    def api_services(self) -> ApiServices:
        """What the HTTP layer is given: services, read models and its secrets."""
        return ApiServices(
            ledger=self.ledger,
            store=self.store,
            slots=self.slots,
            checkout=self.checkout,
            confirmation=self.confirmation,
            cancellations=self.cancellations,
            stripe_events=self.stripe_events,
            payouts=self.payouts,
            read_models=self.projections,
            followers=self.followers,
            jwt_secret=self.settings.jwt_secret.get_secret_value(),
            cron_secret=self.settings.cron_secret.get_secret_value(),
            checkout_limits=CheckoutRateLimits(
                self.settings.checkout_rate_per_user,
                self.settings.checkout_rate_per_client,
                self.settings.checkout_rate_storage,
            ),
            ready_max_lag=self.settings.ready_max_lag,
            attention=self.attention,
            lifecycle=self.lifecycle,
        )

    def close(self) -> None:
        self.stopping.set()
        if self.payout_schedule is not None:
            self.payout_schedule.stop()
        self.work.stop()
        for follower in self.followers:
            follower.stop()
        self.stripe.close()
        self.calcom.close()
        self.store.close()
        self.ledger.close()


def checkout_return_url(settings: Settings) -> str:
    """Where Stripe sends the customer back: the frontend's page, or serve's own."""
    if settings.checkout_return_url:
        return settings.checkout_return_url
    return settings.public_base_url.rstrip("/") + "/return?session_id={CHECKOUT_SESSION_ID}"


def read_models() -> list[Projection]:
    """Every read model the followers keep, as fresh instances (``ledger verify`` rebuilds them)."""
    return [BookingsProjection(), PaymentsProjection(), JournalProjection(), NoShowsProjection()]


def default_policy(settings: Settings) -> SessionPolicy:
    """The session policy of every event type that does not set its own."""
    return SessionPolicy(
        free_cancel_hours=settings.free_cancel_hours,
        late_cancel_refund_percent=settings.late_cancel_refund_percent,
        reschedule_cutoff_hours=settings.reschedule_cutoff_hours,
        max_reschedules=settings.max_reschedules,
    )


def after_session(settings: Settings) -> timedelta | None:
    hours = settings.payout_after_session_hours
    return None if hours is None else timedelta(hours=hours)


def build_container(
    settings: Settings,
    *,
    poll_interval: float = 1.0,
    work: WorkSettings | None = None,
    confirm_wait_seconds: float = 10.0,
) -> Container:
    wait_for_database(settings.database_url, settings.db_wait_seconds)
    store = ReadModelStore(
        settings.database_url,
        pool_size=settings.db_read_pool_size,
        pool_timeout=settings.db_pool_timeout_seconds,
    )
    catalog = Catalog(store)
    catalog.create_tables()
    policies = CatalogPolicies(store, default_policy(settings))
    # A payment fixes its booking's policy from the catalogue as it is then.
    ledger = Ledger(
        eventsourcing_env(
            settings.database_url,
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow,
            pool_timeout=settings.db_pool_timeout_seconds,
            insert_function=settings.db_insert_function,
        ),
        policies=policies,
    )
    protect_event_table(settings.database_url)
    stripe = StripeGateway(
        settings.stripe_secret_key.get_secret_value(),
        settings.stripe_api_base,
        allow_promotion_codes=settings.allow_promotion_codes,
    )
    calcom = CalcomGateway(settings.calcom_api_key.get_secret_value(), settings.calcom_api_base)
    projections = {
        projection.name: Follower(ledger, store, projection, poll_interval=poll_interval)
        for projection in read_models()
    }

    def open_checkouts(user_id: str, now: datetime) -> list[datetime]:
        # Read your own writes: a checkout just opened counts at once.
        projections["bookings"].wait_for(head_position(ledger), timeout=5.0)
        with store.transaction(readonly=True) as tx:
            return open_checkout_expiries(tx, user_id, now)

    checkout = CheckoutService(
        ledger,
        catalog,
        stripe,
        calcom,
        CheckoutSettings(
            settings.checkout_expires_minutes,
            settings.platform_fee_bps,
            checkout_return_url(settings),
            max_open_checkouts=settings.max_open_checkouts,
        ),
        open_checkouts=open_checkouts,
    )
    stopping = threading.Event()
    process_managers: list[Process] = [
        Fulfilment(ledger, calcom),
        Refunds(ledger, stripe),
        NoShowRefunds(ledger, stripe),
        ReservationRelease(ledger, calcom),
        CalendarCancellation(ledger, calcom, stripe),
    ]
    if settings.smtp_url:
        process_managers.append(Notifications(ledger, SmtpMailer(settings.smtp_url)))
    dispatcher = Follower(
        ledger,
        store,
        WorkDispatcher({p.name: tuple(getattr(p, "topics", ())) for p in process_managers}),
        poll_interval=poll_interval,
    )
    work_pool = WorkPool(
        ledger, store, process_managers, dispatcher, work or work_settings(settings)
    )
    payouts = PayoutService(
        ledger,
        store,
        catalog,
        stripe,
        hold=timedelta(hours=settings.payout_hold_hours),
        read_model=projections["payments"],
        after_session=after_session(settings),
        concurrency=settings.payout_concurrency,
        max_requests_per_second=settings.payout_max_requests_per_second,
        # A run in progress at shutdown stops starting payouts; the next run pays the rest.
        stopping=stopping,
    )
    container = Container(
        settings=settings,
        attention=AttentionService(ledger, store, payouts),
        dispatcher=dispatcher,
        work=work_pool,
        ledger=ledger,
        store=store,
        catalog=catalog,
        stripe=stripe,
        calcom=calcom,
        checkout=checkout,
        confirmation=ConfirmationService(ledger, stripe, wait_seconds=confirm_wait_seconds),
        stripe_events=StripeEventHandler(
            ledger, stripe, webhook_secret=settings.stripe_webhook_secret.get_secret_value()
        ),
        # The payouts read the same payments follower the workers run (or catch it up, in the CLI).
        payouts=payouts,
        cancellations=CancellationService(
            ledger,
            free_cancel_hours=settings.free_cancel_hours,
            late_cancel_refund_percent=settings.late_cancel_refund_percent,
        ),
        slots=SlotService(catalog, calcom),
        projections=projections,
        stopping=stopping,
        lifecycle=LifecycleServices(
            reschedules=RescheduleService(ledger, calcom, default_policy=default_policy(settings)),
            no_shows=NoShowService(
                ledger, claim_window=timedelta(hours=settings.no_show_claim_hours)
            ),
            payout_hold=timedelta(hours=settings.payout_hold_hours),
            payout_after_session=after_session(settings),
        ),
    )
    for process in process_managers:
        container.processes[process.name] = work_pool.worker(process.name)
    return container


def work_settings(settings: Settings) -> WorkSettings:
    return WorkSettings(
        threads=settings.worker_threads,
        lease_seconds=settings.work_lease_seconds,
        keep_done=timedelta(days=settings.work_keep_done_days),
        retry=RetryPolicy(
            attempts=settings.work_max_attempts,
            initial_delay=settings.work_retry_initial_seconds,
            max_delay=settings.work_retry_max_seconds,
        ),
    )
