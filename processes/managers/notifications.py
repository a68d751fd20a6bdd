"""Confirmation email to the attendee once the session is booked (when SMTP is configured).

At-least-once like every process: the Message-ID is derived from the booking, so a repeat after
a crash is recognisable as the same message by mail clients.
"""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from email.utils import format_datetime
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from ledger import Booking, Ledger, Money
from ledger.events import DomainEvent

SENDER = "mentorpay <no-reply@mentorpay.invalid>"


class SmtpMailer:
    def __init__(self, smtp_url: str, timeout: float = 10.0) -> None:
        parts = urlsplit(smtp_url)
        if parts.scheme not in ("smtp", "smtps"):
            raise ValueError("SMTP_URL must look like smtp://host:port")
        self._host = parts.hostname or "127.0.0.1"
        self._port = parts.port or (465 if parts.scheme == "smtps" else 25)
        self._tls = parts.scheme == "smtps"
        self._user = parts.username
        self._password = parts.password
        self._timeout = timeout

    def send(self, message: EmailMessage) -> None:
        smtp_class = smtplib.SMTP_SSL if self._tls else smtplib.SMTP
        with smtp_class(self._host, self._port, timeout=self._timeout) as smtp:
            if self._user:
                smtp.login(self._user, self._password or "")
            smtp.send_message(message)


def confirmation_email(booking: Booking) -> EmailMessage:
    request = booking.request
    local_start = request.start.astimezone(ZoneInfo(request.attendee_time_zone))
    price = Money(request.price_amount, request.currency)
    message = EmailMessage()
    message["From"] = SENDER
    message["To"] = request.attendee_email
    message["Subject"] = "Your mentoring session is booked"
    message["Message-ID"] = f"<booking-{booking.id}@mentorpay.invalid>"
    message["Date"] = format_datetime(booking.modified_on)
    message.set_content(
        f"Hello {request.attendee_name},\n\n"
        f"Your session on {local_start:%A %d %B %Y at %H:%M} ({request.attendee_time_zone}) "
        f"is booked. You paid {price.format()}.\n"
        f"Booking reference: {booking.id}\n"
    )
    return message


class Notifications:
    name = "notifications"
    topics = (Booking.Booked.TOPIC,)

    def __init__(self, ledger: Ledger, mailer: SmtpMailer) -> None:
        self._ledger = ledger
        self._mailer = mailer

    def handle(self, position: int, event: DomainEvent) -> None:
        self._mailer.send(confirmation_email(self._ledger.get_booking(event.originator_id)))
