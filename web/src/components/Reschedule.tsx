// Move a booked session to another free time of its event type (rescheduleBooking): the same
// day-then-time choice as booking, then the API's answer in words.
import { useMemo, useState, type FormEvent } from "react";
import {
  asProblem,
  fieldErrors,
  problemText,
  type ApiClient,
  type Booking,
  type Problem,
} from "../api/client";
import { visitorTimeZone } from "../format";
import { SlotPicker, useFreeSlots } from "./SlotPicker";

interface Props {
  api: ApiClient;
  booking: Booking;
  title: string;
  onMoved: (moved: Booking) => void;
  onClose: () => void;
}

export function Reschedule({ api, booking, title, onMoved, onClose }: Props) {
  const timeZone = useMemo(visitorTimeZone, []);
  const loaded = useFreeSlots(api, booking.eventTypeId, timeZone);
  // Not the time it already has.
  const free = useMemo(() => {
    const current = Date.parse(booking.start);
    const slots = loaded.slots?.filter((slot) => Date.parse(slot.start) !== current) ?? null;
    return { ...loaded, slots };
  }, [loaded, booking.start]);
  const [start, setStart] = useState<string | null>(null);
  const [problem, setProblem] = useState<Problem | null>(null);
  const [busy, setBusy] = useState(false);
  const startError = fieldErrors(problem)["start"];
  const otherError = problem && !startError ? `Not moved. ${problemText(problem)}` : null;
  const errorId = `reschedule-error-${booking.id}`;

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (!start) return;
    setBusy(true);
    setProblem(null);
    const { data, error, response } = await api.POST("/api/bookings/{booking_id}/reschedule", {
      params: { path: { booking_id: booking.id } },
      body: { start },
    });
    setBusy(false);
    if (data) {
      onMoved(data);
      return;
    }
    setProblem(asProblem(error, response));
    if (response.status === 409) {
      // Taken meanwhile: show what is free now.
      setStart(null);
      loaded.reload();
    }
  }

  return (
    <form
      className="reschedule"
      onSubmit={submit}
      noValidate
      aria-label={`Reschedule ${title}`}
      aria-describedby={problem ? errorId : undefined}
    >
      <p className="muted">
        Pick a new time; you do not pay again. Times are in your time zone, {timeZone}.
      </p>
      <SlotPicker
        free={free}
        timeZone={timeZone}
        value={start}
        onChange={(chosen) => {
          setStart(chosen);
          setProblem(null);
        }}
        name={`reschedule-${booking.id}`}
      />
      {(startError || otherError) && (
        <p id={errorId} role="alert" className="error">
          {startError ? `Not moved. The new time: ${startError}` : otherError}
        </p>
      )}
      <button type="submit" disabled={!start || busy}>
        {busy ? "Moving…" : "Move to this time"}
      </button>{" "}
      <button type="button" className="secondary" onClick={onClose}>
        Keep the current time
      </button>
    </form>
  );
}
