"""The attendee gets one confirmation email, over real SMTP, naming the session's time."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from tests.support.stack import Stack
from tests.support.waiting import wait_until


class Inbox:
    """An aiosmtpd handler that keeps every message it accepts."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._messages: list[EmailMessage] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        message = message_from_bytes(envelope.original_content or b"", policy=policy.default)
        assert isinstance(message, EmailMessage)
        with self._lock:
            self._messages.append(message)
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[EmailMessage]:
        with self._lock:
            return [m for m in self._messages if address in str(m["To"])]


class EphemeralPortController(Controller):
    """aiosmtpd's Controller bound to port 0: learn the port the OS chose before its
    start-up self-check connects to it."""

    def _trigger_server(self) -> None:
        assert self.server is not None
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, int]]:
    handler = Inbox()
    controller = EphemeralPortController(handler, hostname="127.0.0.1", port=0)
    controller.start()
    try:
        yield handler, controller.port
    finally:
        controller.stop()


@pytest.fixture
def stack_settings(inbox: tuple[Inbox, int]) -> dict[str, Any]:
    return {"smtp_url": f"smtp://127.0.0.1:{inbox[1]}"}


def test_attendee_gets_one_email_naming_the_session_time(
    stack: Stack, inbox: tuple[Inbox, int]
) -> None:
    mailbox = inbox[0]
    start = stack.free_slot()
    checkout = stack.start_checkout(
        start,
        attendee={"name": "Ada Byron", "email": "ada@example.com", "timeZone": "America/New_York"},
    )
    assert stack.pay(checkout["checkoutSessionId"]).status_code == 200
    wait_until(lambda: stack.booking(checkout["bookingId"])["status"] == "ACCEPTED", timeout=20)

    [message] = wait_until(lambda: mailbox.to("ada@example.com"), timeout=20)
    # Nothing more is coming: the notifications worker has handled everything in the ledger.
    ledger = stack.container.ledger
    notifications = stack.container.processes["notifications"]
    assert notifications.wait_for(ledger.recorder.max_notification_id() or 0, timeout=10)
    assert len(mailbox.to("ada@example.com")) == 1

    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    text = body.get_content()
    local = start.astimezone(ZoneInfo("America/New_York"))
    assert f"{local:%H:%M}" in text
    assert str(local.day) in text and f"{local:%B}" in text and str(local.year) in text
    assert "America/New_York" in text
    assert checkout["bookingId"] in text
