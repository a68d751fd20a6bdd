// An administrator's open no-show claims (listOpenNoShowClaims), oldest first: each with its
// session (the listing carries it: one request) and what the attendee said, decided here as a
// refund or a release (decideNoShow), with the reason the ledger records.
import { useCallback, useEffect, useState, type FormEvent } from "react";
import {
  asProblem,
  fieldErrors,
  problemText,
  type ApiClient,
  type EventType,
  type Problem,
  type Schemas,
} from "../api/client";
import { ReasonField } from "../components/ReasonField";
import { money, visitorTimeZone, when } from "../format";

type Claim = Schemas["NoShowClaimView"];
type Decision = "refund" | "release";

const DECISIONS: Record<Decision, { label: string; consequence: string; done: string }> = {
  refund: {
    label: "Uphold: refund the attendee",
    consequence:
      "Refund the attendee in full? A payout already made to the mentor is reversed first.",
    done: "Upheld: the attendee is refunded in full.",
  },
  release: {
    label: "Decline: pay the mentor",
    consequence: "Decline the claim? The session is paid to the mentor as one held.",
    done: "Declined: the session is paid to the mentor.",
  },
};

interface Props {
  api: ApiClient;
  eventTypes: EventType[];
}

export function ClaimsPage({ api, eventTypes }: Props) {
  const [claims, setClaims] = useState<Claim[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);

  const load = useCallback(async () => {
    const { data, error: failure, response } = await api.GET("/api/admin/no-show-claims");
    if (!data) {
      setError(problemText(asProblem(failure, response)));
      return;
    }
    setClaims(data);
  }, [api]);
  useEffect(() => {
    void load();
  }, [load]);

  return (
    <section className="card" aria-labelledby="claims-title">
      <h1 id="claims-title">Open no-show claims</h1>
      <p className="muted">
        Attendees who say their mentor did not show. The mentor is not paid until you decide.
      </p>
      {notice && <p role="status" className="notice">{notice}</p>}
      {error && <p role="alert" className="error">{error}</p>}
      {claims && claims.length === 0 && <p>No claims are waiting for a decision.</p>}
      <ul className="bookings">
        {claims?.map((claim) => (
          <ClaimRow
            key={claim.bookingId}
            api={api}
            claim={claim}
            eventTypes={eventTypes}
            onDecided={async (words) => {
              setNotice(words);
              await load();
            }}
          />
        ))}
      </ul>
    </section>
  );
}

function ClaimRow({
  api,
  claim,
  eventTypes,
  onDecided,
}: {
  api: ApiClient;
  claim: Claim;
  eventTypes: EventType[];
  onDecided: (words: string) => Promise<void>;
}) {
  const [deciding, setDeciding] = useState<Decision | null>(null);
  const timeZone = visitorTimeZone();
  const booking = claim.booking;
  const type = eventTypes.find((candidate) => candidate.id === booking.eventTypeId);
  const title = `${type ? `${type.title} with ${type.mentor.name}` : `Event type ${booking.eventTypeId}`}, booked by ${booking.attendeeName}`;
  return (
    <li>
      <h2>{title}</h2>
      <p>
        {when(booking.start, booking.end, timeZone)} · {money(booking.amount, booking.currency)}
      </p>
      <p>
        Reported by the {claim.reportedBy} on {new Date(claim.reportedAt).toLocaleString(undefined, { timeZone })}:{" "}
        {claim.reason ? <q>{claim.reason}</q> : "no note given"}
      </p>
      {deciding === null ? (
        <div className="actions">
          {(Object.keys(DECISIONS) as Decision[]).map((decision) => (
            <button
              key={decision}
              type="button"
              className="secondary"
              onClick={() => setDeciding(decision)}
            >
              {DECISIONS[decision].label}
            </button>
          ))}
        </div>
      ) : (
        <DecisionForm
          api={api}
          bookingId={claim.bookingId}
          title={title}
          decision={deciding}
          onCancel={() => setDeciding(null)}
          onDecided={() => void onDecided(`${DECISIONS[deciding].done} (${title})`)}
        />
      )}
    </li>
  );
}

function DecisionForm({
  api,
  bookingId,
  title,
  decision,
  onCancel,
  onDecided,
}: {
  api: ApiClient;
  bookingId: string;
  title: string;
  decision: Decision;
  onCancel: () => void;
  onDecided: () => void;
}) {
  const [reason, setReason] = useState("");
  const [problem, setProblem] = useState<Problem | null>(null);
  const [busy, setBusy] = useState(false);
  const reasonId = `decision-reason-${bookingId}`;
  const reasonError = fieldErrors(problem)["reason"];
  const otherError = problem && !reasonError ? problemText(problem) : null;

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setProblem(null);
    const { data, error, response } = await api.POST(
      "/api/bookings/{booking_id}/no-show/decision",
      { params: { path: { booking_id: bookingId } }, body: { decision, reason } },
    );
    setBusy(false);
    if (data) onDecided();
    else setProblem(asProblem(error, response));
  }

  return (
    <form
      className="confirm"
      onSubmit={submit}
      noValidate
      aria-label={`${DECISIONS[decision].label}: ${title}`}
    >
      <p>{DECISIONS[decision].consequence}</p>
      <ReasonField
        id={reasonId}
        label="Why (kept in the ledger)"
        value={reason}
        onChange={setReason}
        error={reasonError}
      />
      {otherError && <p role="alert" className="error">{otherError}</p>}
      <button type="submit" className="danger" disabled={busy}>
        {busy ? "Recording…" : "Yes, decide so"}
      </button>{" "}
      <button type="button" className="secondary" onClick={onCancel}>
        Not now
      </button>
    </form>
  );
}
