"""Configuration from the environment (``MENTORPAY_`` prefix), in one typed place."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite:///./var/mentorpay.db"


# The ``limits`` storages this project installs the drivers of (``limits[redis]``).
_RATE_STORAGE_SCHEMES = (
    "memory",
    "redis",
    "rediss",
    "redis+unix",
    "redis+sentinel",
    "redis+cluster",
)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MENTORPAY_", extra="ignore")

    database_url: str = DEFAULT_DATABASE_URL
    stripe_secret_key: SecretStr = SecretStr("sk_test_sandbox")
    stripe_webhook_secret: SecretStr = SecretStr("whsec_sandbox")
    stripe_api_base: str | None = None
    calcom_api_key: SecretStr = SecretStr("cal_test_sandbox")
    calcom_api_base: str | None = None
    jwt_secret: SecretStr = SecretStr("dev-only-jwt-secret-change-me-0123456789")
    cron_secret: SecretStr = SecretStr("dev-only-cron-secret")
    payout_hold_hours: int = Field(default=72, ge=0)
    platform_fee_bps: int = Field(default=1000, ge=0, le=10_000)
    # Stripe allows 30 min to 24 h; the checkout adds a minute of margin to the lower bound.
    checkout_expires_minutes: int = Field(default=30, ge=30, le=24 * 60 - 2)
    free_cancel_hours: int = Field(default=24, ge=0)
    # Defaults of every event type's session policy (the catalogue may set its own).
    late_cancel_refund_percent: int = Field(default=0, ge=0, le=100)
    reschedule_cutoff_hours: int = Field(default=24, ge=0)
    max_reschedules: int = Field(default=1, ge=0)
    # A payment is paid out once its hold has passed and its session ended this long ago;
    # empty: the hold alone decides.
    payout_after_session_hours: int | None = Field(default=24, ge=0)
    # How long after the session's end the attendee may report that the mentor did not show.
    no_show_claim_hours: int = Field(default=24, ge=0)
    # Checkout takes Stripe promotion codes (coupons are made in Stripe's Dashboard or API).
    allow_promotion_codes: bool = True
    payout_interval_seconds: float = Field(default=3600, gt=0)
    # A payout run's threads, and its pace toward Stripe (every request it makes: look-up,
    # account, transfer), well under Stripe's live-mode limit of 100 requests/s per account,
    # which the API's own calls share.
    payout_concurrency: int = Field(default=4, ge=1, le=32)
    payout_max_requests_per_second: float = Field(default=20, gt=0)
    smtp_url: str | None = None
    public_base_url: str = "http://127.0.0.1:8000"
    # Where Stripe sends the customer after paying: the frontend's page, with the literal
    # {CHECKOUT_SESSION_ID}. Unset: serve's own minimal page at PUBLIC_BASE_URL/return.
    checkout_return_url: str | None = Field(default=None, pattern=r"\{CHECKOUT_SESSION_ID\}")
    # Connection footprint on PostgreSQL (per process): the ledger's pool keeps POOL_SIZE
    # connections open and opens up to MAX_OVERFLOW more under load; the read-model pool
    # opens up to READ_POOL_SIZE. A caller waiting longer than POOL_TIMEOUT seconds gets 503.
    db_pool_size: int = Field(default=2, ge=1)
    db_max_overflow: int = Field(default=4, ge=0)
    db_read_pool_size: int = Field(default=4, ge=1)
    db_pool_timeout_seconds: int = Field(default=5, ge=1)
    # PostgreSQL: the ledger saves through one database function call (which takes the events
    # table's lock itself, so ids still commit in order); off: the library's pipelined
    # transaction.
    db_insert_function: bool = True
    # How long start-up waits for the database to accept connections.
    db_wait_seconds: float = Field(default=60, ge=0)
    # Abuse limits on POST /api/checkout-sessions (``limits`` notation: N/second|minute|hour).
    max_open_checkouts: int = Field(default=3, ge=1)
    checkout_rate_per_user: str = "10/minute"
    checkout_rate_per_client: str = "30/minute"
    # Where those counts live (a ``limits`` storage URI): memory:// is per process; with
    # several API processes, redis://host:port/db shares them.
    checkout_rate_storage: str = "memory://"
    # The process managers' work pool (per worker process) and its retries.
    worker_threads: int = Field(default=8, ge=1, le=64)
    work_lease_seconds: float = Field(default=30.0, gt=0)
    work_max_attempts: int = Field(default=6, ge=1)
    work_retry_initial_seconds: float = Field(default=0.5, ge=0)
    work_retry_max_seconds: float = Field(default=30.0, ge=0)
    work_keep_done_days: float = Field(default=7, gt=0)
    # /readyz answers 503 when a read model is this many log positions behind the head.
    ready_max_lag: int = Field(default=1000, ge=0)

    @field_validator("checkout_rate_storage")
    @classmethod
    def _known_storage(cls, value: str) -> str:
        scheme, separator, _ = value.partition("://")
        if not separator or scheme not in _RATE_STORAGE_SCHEMES:
            raise ValueError(
                "must be a limits storage URI: memory://, redis://host:port/db, rediss://..."
            )
        return value

    @field_validator("payout_after_session_hours", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
