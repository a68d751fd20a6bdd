// Back from Checkout: confirm, then say in words what happened.
import { useEffect, useState } from "react";
import { asProblem, problemText, type ApiClient, type Booking, type EventType } from "../api/client";
import { money, when } from "../format";
import { refundWords, SETTLED } from "../status";

const WAIT_MS = 30_000;
const POLL_MS = 1_000;

type Outcome =
  | { kind: "loading" }
  | { kind: "unpaid"; booking: Booking | null }
  | { kind: "settled"; booking: Booking }
  | { kind: "pending"; booking: Booking }
  | { kind: "error"; message: string };

interface Props {
  api: ApiClient;
  eventTypes: EventType[];
  sessionId: string | null;
}

export function ReturnPage({ api, eventTypes, sessionId }: Props) {
  const [outcome, setOutcome] = useState<Outcome>({ kind: "loading" });

  useEffect(() => {
    if (!sessionId) {
      setOutcome({ kind: "error", message: "This page needs a checkout session (session_id)." });
      return;
    }
    let current = true;
    (async () => {
      const confirmed = await api.POST("/api/bookings/confirm", {
        body: { checkoutSessionId: sessionId },
      });
      if (!confirmed.data) {
        if (current) {
          const problem = asProblem(confirmed.error, confirmed.response);
          setOutcome({ kind: "error", message: problemText(problem) });
        }
        return;
      }
      const bookingId = confirmed.data.bookingId;
      const deadline = Date.now() + WAIT_MS;
      for (;;) {
        const { data } = await api.GET("/api/bookings/{booking_id}", {
          params: { path: { booking_id: bookingId } },
        });
        if (!current) return;
        if (!data) {
          setOutcome({ kind: "error", message: "The booking could not be read." });
          return;
        }
        if (data.status === "AWAITING_PAYMENT") {
          setOutcome({ kind: "unpaid", booking: data });
          return;
        }
        const refundPending =
          data.status === "REJECTED" && data.payment && data.payment.amountRefunded < data.payment.amount;
        if (SETTLED.has(data.status) && !refundPending) {
          setOutcome({ kind: "settled", booking: data });
          return;
        }
        if (Date.now() > deadline) {
          setOutcome(SETTLED.has(data.status) ? { kind: "settled", booking: data } : { kind: "pending", booking: data });
          return;
        }
        setOutcome({ kind: "pending", booking: data });
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      }
    })();
    return () => {
      current = false;
    };
  }, [api, sessionId]);

  return (
    <section className="card" aria-live="polite" aria-labelledby="outcome-title">
      <Words outcome={outcome} eventTypes={eventTypes} />
      <p className="links">
        <a href="/bookings">My bookings</a> · <a href="/">Book another session</a>
      </p>
    </section>
  );
}

function Words({ outcome, eventTypes }: { outcome: Outcome; eventTypes: EventType[] }) {
  if (outcome.kind === "loading") return <h1 id="outcome-title">Confirming your payment…</h1>;
  if (outcome.kind === "error") {
    return (
      <>
        <h1 id="outcome-title">We could not confirm this checkout</h1>
        <p role="alert" className="error">{outcome.message}</p>
      </>
    );
  }
  if (outcome.kind === "unpaid") {
    return (
      <>
        <h1 id="outcome-title">This checkout has not been paid</h1>
        <p>
          Nothing was charged and nothing is booked. <a href="/">Pick a time again</a> to book
          and pay; the time you chose is held only while its checkout is open.
        </p>
      </>
    );
  }
  const booking = outcome.booking;
  const type = eventTypes.find((candidate) => candidate.id === booking.eventTypeId);
  const what = type ? `${type.title} with ${type.mentor.name}` : "Your session";
  const at = when(booking.start, booking.end, booking.attendeeTimeZone);
  const paid = booking.payment ? money(booking.payment.amount, booking.payment.currency) : null;
  if (outcome.kind === "pending") {
    return (
      <>
        <h1 id="outcome-title">Payment received; your booking is still being made</h1>
        <p>
          {what}, {at}. {paid && `You paid ${paid}. `}The calendar has not answered yet. You
          do not need to do anything: the booking appears in My bookings as soon as it is
          made, and if it cannot be made the payment is refunded automatically.
        </p>
      </>
    );
  }
  switch (booking.status) {
    case "ACCEPTED":
      return (
        <>
          <h1 id="outcome-title">You are booked</h1>
          <p className="big">
            {what}, {at}.
          </p>
          <p>
            {paid && `You paid ${paid}. `}A confirmation goes to {booking.attendeeEmail}.
          </p>
        </>
      );
    case "REJECTED":
      return (
        <>
          <h1 id="outcome-title">This time could not be booked</h1>
          <p>
            {what}, {at}, could not be booked with the calendar
            {booking.failureReason ? ` (${booking.failureReason})` : ""}. Nothing is booked, and{" "}
            {refundWords(booking)} to your card.
          </p>
        </>
      );
    case "EXPIRED":
      return (
        <>
          <h1 id="outcome-title">This checkout expired</h1>
          <p>The checkout expired before it was paid; nothing was charged. Pick a time again.</p>
        </>
      );
    default:
      return (
        <>
          <h1 id="outcome-title">This booking was cancelled</h1>
          <p>
            {what}, {at}, was cancelled.
          </p>
        </>
      );
  }
}
