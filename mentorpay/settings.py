"""Configuration from the environment (``MENTORPAY_`` prefix), in one typed place."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite:///./var/mentorpay.db"


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
    payout_interval_seconds: float = Field(default=3600, gt=0)
    smtp_url: str | None = None
    public_base_url: str = "http://127.0.0.1:8000"
    # The process managers' work pool (per worker process) and its retries.
    worker_threads: int = Field(default=8, ge=1, le=64)
    work_lease_seconds: float = Field(default=30.0, gt=0)
    work_max_attempts: int = Field(default=6, ge=1)
    work_retry_initial_seconds: float = Field(default=0.5, ge=0)
    work_retry_max_seconds: float = Field(default=30.0, ge=0)
    work_keep_done_days: float = Field(default=7, gt=0)
    # /readyz answers 503 when a read model is this many log positions behind the head.
    ready_max_lag: int = Field(default=1000, ge=0)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
