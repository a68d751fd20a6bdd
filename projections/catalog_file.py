"""The catalogue file (YAML or JSON): mentors with their Stripe account, event types with prices.

Validated as a whole before anything is stored: one bad entry and nothing loads.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from ledger.money import Money

MentorId = Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]


class CatalogError(ValueError):
    """The catalogue file cannot be loaded; nothing was stored."""


class PriceEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    amount: int = Field(ge=0)
    currency: str

    def to_money(self) -> Money:
        return Money(self.amount, self.currency)

    @model_validator(mode="after")
    def _known_currency(self) -> PriceEntry:
        self.to_money()  # raises for an unknown currency
        return self


class MentorEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: MentorId
    name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    stripe_account_id: Annotated[str, StringConstraints(pattern=r"^acct_[A-Za-z0-9]+$")]


class PolicyEntry(BaseModel):
    """An event type's session policy; each field left out is the settings' default."""

    model_config = ConfigDict(extra="forbid", strict=True)

    free_cancel_hours: int | None = Field(default=None, ge=0, le=24 * 365)
    late_cancel_refund_percent: int | None = Field(default=None, ge=0, le=100)
    reschedule_cutoff_hours: int | None = Field(default=None, ge=0, le=24 * 365)
    max_reschedules: int | None = Field(default=None, ge=0, le=100)


class EventTypeEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: int = Field(gt=0, strict=True)
    mentor_id: MentorId
    title: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    duration_minutes: int = Field(gt=0, le=24 * 60, strict=True)
    price: PriceEntry
    policy: PolicyEntry | None = None


class CatalogFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mentors: list[MentorEntry] = Field(default_factory=list)
    event_types: list[EventTypeEntry] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> CatalogFile:
        mentor_ids = [mentor.id for mentor in self.mentors]
        if len(set(mentor_ids)) != len(mentor_ids):
            raise ValueError("a mentor id appears more than once")
        event_type_ids = [event_type.id for event_type in self.event_types]
        if len(set(event_type_ids)) != len(event_type_ids):
            raise ValueError("an event type id appears more than once")
        return self


def parse_catalog(text: str, *, known_mentor_ids: frozenset[str] = frozenset()) -> CatalogFile:
    """Parse YAML (a superset of JSON); each event type must name a known mentor."""
    try:
        raw: Any = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise CatalogError(f"not valid YAML or JSON: {error}") from None
    if not isinstance(raw, dict):
        raise CatalogError("the catalogue must be a mapping with 'mentors' and 'event_types'")
    try:
        catalog = CatalogFile.model_validate(raw)
    except ValueError as error:
        raise CatalogError(str(error)) from None
    mentor_ids = {mentor.id for mentor in catalog.mentors} | known_mentor_ids
    unknown = sorted({e.mentor_id for e in catalog.event_types} - mentor_ids)
    if unknown:
        raise CatalogError(f"event types name unknown mentors: {', '.join(unknown)}")
    return catalog


def read_catalog_file(path: Path, *, known_mentor_ids: frozenset[str] = frozenset()) -> CatalogFile:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise CatalogError(f"cannot read {path}: {error.strerror}") from None
    return parse_catalog(text, known_mentor_ids=known_mentor_ids)
