// The booking form: a mentor's session, its free slots grouped by day in the visitor's time
// zone (SlotPicker), name and email with the API's field-level errors, and "Book and Pay",
// which opens a checkout (createCheckoutSession) and hands its client secret on.
import { useMemo, useState, type FormEvent } from "react";
import {
  asProblem,
  fieldErrors,
  problemText,
  type ApiClient,
  type CheckoutSession,
  type EventType,
  type Problem,
} from "../api/client";
import { money, visitorTimeZone } from "../format";
import { SlotPicker, useFreeSlots } from "./SlotPicker";

interface Props {
  api: ApiClient;
  eventTypes: EventType[];
  onCheckout: (checkout: CheckoutSession, eventType: EventType) => void;
}

export function BookingEmbed({ api, eventTypes, onCheckout }: Props) {
  const timeZone = useMemo(visitorTimeZone, []);
  const [eventTypeId, setEventTypeId] = useState<number | undefined>(eventTypes[0]?.id);
  const [start, setStart] = useState<string | null>(null);
  const [name, setName] = useState("");
  const [email, setEmail] = useState("");
  const [problem, setProblem] = useState<Problem | null>(null);
  const [busy, setBusy] = useState(false);
  const eventType = eventTypes.find((candidate) => candidate.id === eventTypeId);

  const free = useFreeSlots(api, eventTypeId, timeZone);
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
        onChange={(event) => {
          setEventTypeId(Number(event.target.value));
          setStart(null);
        }}
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

      <SlotPicker free={free} timeZone={timeZone} value={start} onChange={setStart} name="book" />

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
