// The booking form: a mentor's session, its free slots grouped by day in the visitor's time
// zone, name and email with the API's field-level errors, and "Book and Pay", which opens a
// checkout (createCheckoutSession) and hands its client secret on.
import { useEffect, useMemo, useState, type FormEvent } from "react";
import {
  asProblem,
  fieldErrors,
  problemText,
  type ApiClient,
  type CheckoutSession,
  type EventType,
  type Problem,
  type Slot,
} from "../api/client";
import { day, dayKey, money, shortDay, time, visitorTimeZone } from "../format";

const DAYS_AHEAD = 14;

interface Props {
  api: ApiClient;
  eventTypes: EventType[];
  onCheckout: (checkout: CheckoutSession, eventType: EventType) => void;
}

export function BookingEmbed({ api, eventTypes, onCheckout }: Props) {
  const timeZone = useMemo(visitorTimeZone, []);
  const [eventTypeId, setEventTypeId] = useState<number | undefined>(eventTypes[0]?.id);
  const [slots, setSlots] = useState<Slot[] | null>(null);
  const [slotError, setSlotError] = useState<string | null>(null);
  const [start, setStart] = useState<string | null>(null);
  const [name, setName] = useState("");
  const [email, setEmail] = useState("");
  const [problem, setProblem] = useState<Problem | null>(null);
  const [busy, setBusy] = useState(false);
  const eventType = eventTypes.find((candidate) => candidate.id === eventTypeId);

  useEffect(() => {
    if (eventTypeId === undefined) return;
    let current = true;
    setSlots(null);
    setStart(null);
    setSlotError(null);
    const from = new Date(Date.now() + 60 * 60 * 1000);
    const to = new Date(from.getTime() + DAYS_AHEAD * 24 * 60 * 60 * 1000);
    api
      .GET("/api/event-types/{event_type_id}/slots", {
        params: {
          path: { event_type_id: eventTypeId },
          query: { start: from.toISOString(), end: to.toISOString(), timeZone },
        },
      })
      .then(({ data, error, response }) => {
        if (!current) return;
        if (data) setSlots(data);
        else setSlotError(problemText(asProblem(error, response)));
      });
    return () => {
      current = false;
    };
  }, [api, eventTypeId, timeZone]);

  const days = useMemo(() => groupByDay(slots ?? [], timeZone), [slots, timeZone]);
  const [chosenDay, setChosenDay] = useState<string | null>(null);
  const shownDay = days.some(([key]) => key === chosenDay) ? chosenDay : (days[0]?.[0] ?? null);
  const dayKeyed = days.find(([key]) => key === shownDay);
  const fields = fieldErrors(problem);
  const nameError = fields["attendee.name"];
  const emailError = fields["attendee.email"];
  const otherError =
    problem && !nameError && !emailError ? problemText(problem) : null;

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (!eventType || !start) return;
    setBusy(true);
    setProblem(null);
    const { data, error, response } = await api.POST("/api/checkout-sessions", {
      // One key per attempt: a double submit opens one checkout, not two.
      params: { header: { "Idempotency-Key": crypto.randomUUID() } },
      body: { eventTypeId: eventType.id, start, attendee: { name, email, timeZone } },
    });
    setBusy(false);
    if (data) onCheckout(data, eventType);
    else setProblem(asProblem(error, response));
  }

  return (
    <form className="card" onSubmit={submit} noValidate aria-labelledby="book-title">
      <h1 id="book-title">Book a mentoring session</h1>
      <label htmlFor="event-type">Session</label>
      <select
        id="event-type"
        value={eventTypeId ?? ""}
        onChange={(event) => setEventTypeId(Number(event.target.value))}
      >
        {eventTypes.map((type) => (
          <option key={type.id} value={type.id}>
            {type.title} with {type.mentor.name} · {money(type.amount, type.currency)}
          </option>
        ))}
      </select>
      {eventType && (
        <p className="muted">
          {eventType.durationMinutes} minutes with {eventType.mentor.name},{" "}
          {money(eventType.amount, eventType.currency)}. Times are in your time zone, {timeZone}.
        </p>
      )}

      <fieldset className="slots">
        <legend>Pick a day</legend>
        {slotError && <p role="alert" className="error">{slotError}</p>}
        {!slots && !slotError && <p aria-live="polite">Loading free times…</p>}
        {slots && slots.length === 0 && <p>No free times in the next {DAYS_AHEAD} days.</p>}
        <div className="days">
          {days.map(([key, daySlots]) => (
            <label key={key} className={key === shownDay ? "choice chosen" : "choice"}>
              <input
                type="radio"
                name="day"
                value={key}
                checked={key === shownDay}
                onChange={() => setChosenDay(key)}
              />
              {shortDay(daySlots[0]!.start, timeZone)}
            </label>
          ))}
        </div>
      </fieldset>
      {dayKeyed && (
        <fieldset className="slots">
          <legend>Pick a time on {day(dayKeyed[1][0]!.start, timeZone)}</legend>
          <div className="times">
            {dayKeyed[1].map((slot) => (
              <label key={slot.start} className={slot.start === start ? "choice chosen" : "choice"}>
                <input
                  type="radio"
                  name="slot"
                  value={slot.start}
                  checked={slot.start === start}
                  onChange={() => setStart(slot.start)}
                />
                {time(slot.start, timeZone)}
              </label>
            ))}
          </div>
        </fieldset>
      )}
      {start && (
        <p className="chosen-slot" aria-live="polite">
          Your choice: {day(start, timeZone)}, {time(start, timeZone)}
        </p>
      )}

      <label htmlFor="name">Your name</label>
      <input
        id="name"
        autoComplete="name"
        value={name}
        onChange={(event) => setName(event.target.value)}
        aria-invalid={nameError ? true : undefined}
        aria-describedby={nameError ? "name-error" : undefined}
      />
      {nameError && <p id="name-error" className="error">{nameError}</p>}

      <label htmlFor="email">Your email</label>
      <input
        id="email"
        type="email"
        autoComplete="email"
        value={email}
        onChange={(event) => setEmail(event.target.value)}
        aria-invalid={emailError ? true : undefined}
        aria-describedby={emailError ? "email-error" : undefined}
      />
      {emailError && <p id="email-error" className="error">{emailError}</p>}

      {otherError && <p role="alert" className="error">{otherError}</p>}
      <button type="submit" disabled={!start || busy}>
        {busy ? "Opening checkout…" : "Book and Pay"}
      </button>
      {!start && <p className="muted">Pick a time to continue.</p>}
    </form>
  );
}

function groupByDay(slots: Slot[], timeZone: string): [string, Slot[]][] {
  const days = new Map<string, Slot[]>();
  for (const slot of slots) {
    const key = dayKey(slot.start, timeZone);
    days.set(key, [...(days.get(key) ?? []), slot]);
  }
  return [...days.entries()];
}
