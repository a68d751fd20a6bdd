import { useCallback, useEffect, useState } from "react";
import {
  asProblem,
  problemText,
  type ApiClient,
  type Booking,
  type Cancellation,
  type EventType,
} from "../api/client";
import { money, when } from "../format";
import { statusWords } from "../status";

const CANCELLABLE = new Set(["ACCEPTED", "PENDING"]);

interface Props {
  api: ApiClient;
  eventTypes: EventType[];
}

export function MyBookingsPage({ api, eventTypes }: Props) {
  const [bookings, setBookings] = useState<Booking[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);

  const load = useCallback(async () => {
    const { data, error: failure, response } = await api.GET("/api/bookings");
    if (data) setBookings(data);
    else setError(problemText(asProblem(failure, response)));
  }, [api]);
  useEffect(() => {
    void load();
  }, [load]);

  async function cancel(booking: Booking) {
    const { data, error: failure, response } = await api.POST("/api/bookings/{booking_id}/cancel", {
      params: { path: { booking_id: booking.id } },
      body: { reason: "Cancelled by the attendee from My bookings" },
    });
    if (data) setNotice(cancellationWords(data));
    else setNotice(problemText(asProblem(failure, response)));
    await load();
  }

  return (
    <section className="card" aria-labelledby="mine-title">
      <h1 id="mine-title">My bookings</h1>
      {notice && <p role="status" className="notice">{notice}</p>}
      {error && <p role="alert" className="error">{error}</p>}
      {bookings && bookings.length === 0 && (
        <p>
          No bookings yet. <a href="/">Book a session</a>.
        </p>
      )}
      <ul className="bookings">
        {bookings?.map((booking) => (
          <BookingRow key={booking.id} booking={booking} eventTypes={eventTypes} onCancel={cancel} />
        ))}
      </ul>
    </section>
  );
}

function BookingRow({
  booking,
  eventTypes,
  onCancel,
}: {
  booking: Booking;
  eventTypes: EventType[];
  onCancel: (booking: Booking) => Promise<void>;
}) {
  const [asking, setAsking] = useState(false);
  const type = eventTypes.find((candidate) => candidate.id === booking.eventTypeId);
  const title = type ? `${type.title} with ${type.mentor.name}` : `Event type ${booking.eventTypeId}`;
  return (
    <li>
      <h2>{title}</h2>
      <p>{when(booking.start, booking.end, booking.attendeeTimeZone)}</p>
      <p>
        <span className="status">{statusWords(booking)}</span> ·{" "}
        {money(booking.amount, booking.currency)}
      </p>
      {CANCELLABLE.has(booking.status) && !asking && (
        <button type="button" className="secondary" onClick={() => setAsking(true)}>
          Cancel this session
        </button>
      )}
      {asking && (
        <div role="group" aria-label={`Cancel ${title}?`} className="confirm">
          <p>Cancel this session? A cancellation early enough is refunded in full.</p>
          <button type="button" className="danger" onClick={() => void onCancel(booking).then(() => setAsking(false))}>
            Yes, cancel it
          </button>{" "}
          <button type="button" className="secondary" onClick={() => setAsking(false)}>
            Keep it
          </button>
        </div>
      )}
    </li>
  );
}

function cancellationWords(cancellation: Cancellation): string {
  const refund = cancellation.refund;
  if (refund.amount > 0) {
    return `Cancelled. ${money(refund.amount, refund.currency)} is refunded to your card.`;
  }
  if (refund.rule === "late_cancellation") {
    return "Cancelled. It was too close to the start for a refund.";
  }
  return "Cancelled. Nothing was charged, so nothing is refunded.";
}
