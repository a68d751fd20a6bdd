import { useCallback, useEffect, useState } from "react";
import {
  asProblem,
  problemText,
  type ApiClient,
  type Booking,
  type Cancellation,
  type EventType,
} from "../api/client";
import { NoShowAction } from "../components/NoShowAction";
import { Reschedule } from "../components/Reschedule";
import { money, visitorTimeZone, when } from "../format";
import { noShowWords, statusWords } from "../status";

const CANCELLABLE = new Set(["ACCEPTED", "PENDING"]);

type Action = "cancel" | "reschedule" | null;

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
          <BookingRow
            key={booking.id}
            api={api}
            booking={booking}
            eventTypes={eventTypes}
            onCancel={cancel}
            onChanged={async (words) => {
              setNotice(words);
              await load();
            }}
          />
        ))}
      </ul>
    </section>
  );
}

function BookingRow({
  api,
  booking,
  eventTypes,
  onCancel,
  onChanged,
}: {
  api: ApiClient;
  booking: Booking;
  eventTypes: EventType[];
  onCancel: (booking: Booking) => Promise<void>;
  onChanged: (words: string) => Promise<void>;
}) {
  const [action, setAction] = useState<Action>(null);
  const type = eventTypes.find((candidate) => candidate.id === booking.eventTypeId);
  const title = type ? `${type.title} with ${type.mentor.name}` : `Event type ${booking.eventTypeId}`;
  const booked = booking.status === "ACCEPTED" && !booking.noShow;
  const started = Date.now() >= Date.parse(booking.start);
  return (
    <li>
      <h2>{title}</h2>
      <p>{when(booking.start, booking.end, booking.attendeeTimeZone)}</p>
      <p>
        <span className="status">{statusWords(booking)}</span> ·{" "}
        {money(booking.amount, booking.currency)}
      </p>
      {booking.noShow && <p className="status">{noShowWords(booking.noShow, "attendee")}</p>}
      {action === null && (
        <div className="actions">
          {booked && !started && (
            <button type="button" className="secondary" onClick={() => setAction("reschedule")}>
              Reschedule
            </button>
          )}
          {CANCELLABLE.has(booking.status) && !booking.noShow && (
            <button type="button" className="secondary" onClick={() => setAction("cancel")}>
              Cancel this session
            </button>
          )}
        </div>
      )}
      {booked && started && (
        <NoShowAction
          api={api}
          bookingId={booking.id}
          title={title}
          choices={[
            {
              party: "mentor",
              label: "Report that the mentor did not show",
              consequence:
                "Report that the mentor did not show up? The mentor is not paid while an administrator reviews your claim; if it is upheld you are refunded in full.",
            },
          ]}
          onReported={(report) => {
            const state = report.booking.noShow;
            void onChanged(state ? noShowWords(state, "attendee") : "Reported.");
          }}
        />
      )}
      {action === "reschedule" && (
        <Reschedule
          api={api}
          booking={booking}
          title={title}
          onClose={() => setAction(null)}
          onMoved={(moved) => {
            setAction(null);
            const timeZone = visitorTimeZone();
            void onChanged(`Rescheduled. ${title} is now ${when(moved.start, moved.end, timeZone)}.`);
          }}
        />
      )}
      {action === "cancel" && (
        <div role="group" aria-label={`Cancel ${title}?`} className="confirm">
          <p>Cancel this session? A cancellation early enough is refunded in full.</p>
          <button type="button" className="danger" onClick={() => void onCancel(booking).then(() => setAction(null))}>
            Yes, cancel it
          </button>{" "}
          <button type="button" className="secondary" onClick={() => setAction(null)}>
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
