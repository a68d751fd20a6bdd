"""Configuration from the environment (``MENTORPAY_`` prefix), in one typed place."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field, SecretStr, field_validator
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
    smtp_url: str | None = None
    public_base_url: str = "http://127.0.0.1:8000"

    @field_validator("payout_after_session_hours", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
