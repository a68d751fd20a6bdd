// Report that someone did not show up to a session that has started (reportNoShow): a
// confirmation with an optional note, then the recorded claim handed on.
import { useState, type FormEvent } from "react";
import {
  asProblem,
  fieldErrors,
  problemText,
  type ApiClient,
  type NoShowReport,
  type Problem,
} from "../api/client";
import { ReasonField } from "./ReasonField";

export interface NoShowChoice {
  party: "attendee" | "mentor";
  /** The button that starts the report, e.g. "Report that the mentor did not show". */
  label: string;
  /** What confirming means, in words. */
  consequence: string;
}

interface Props {
  api: ApiClient;
  bookingId: string;
  title: string;
  choices: NoShowChoice[];
  onReported: (report: NoShowReport) => void;
}

export function NoShowAction({ api, bookingId, title, choices, onReported }: Props) {
  const [asking, setAsking] = useState<NoShowChoice | null>(null);
  const [reason, setReason] = useState("");
  const [problem, setProblem] = useState<Problem | null>(null);
  const [busy, setBusy] = useState(false);
  const reasonId = `no-show-reason-${bookingId}`;
  const reasonError = fieldErrors(problem)["reason"];
  const otherError = problem && !reasonError ? problemText(problem) : null;

  if (!asking) {
    return (
      <div className="actions">
        {choices.map((choice) => (
          <button
            key={choice.party}
            type="button"
            className="secondary"
            onClick={() => {
              setAsking(choice);
              setProblem(null);
            }}
          >
            {choice.label}
          </button>
        ))}
      </div>
    );
  }

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (!asking) return;
    setBusy(true);
    setProblem(null);
    const note = reason.trim();
    const { data, error, response } = await api.POST("/api/bookings/{booking_id}/no-show", {
      params: { path: { booking_id: bookingId } },
      body: note ? { party: asking.party, reason: note } : { party: asking.party },
    });
    setBusy(false);
    if (data) onReported(data);
    else setProblem(asProblem(error, response));
  }

  return (
    <form className="confirm" onSubmit={submit} noValidate aria-label={`${asking.label}: ${title}`}>
      <p>{asking.consequence}</p>
      <ReasonField
        id={reasonId}
        label="What happened? (optional)"
        value={reason}
        onChange={setReason}
        error={reasonError}
      />
      {otherError && <p role="alert" className="error">{otherError}</p>}
      <button type="submit" className="danger" disabled={busy}>
        {busy ? "Reporting…" : "Yes, report it"}
      </button>{" "}
      <button type="button" className="secondary" onClick={() => setAsking(null)}>
        Do not report
      </button>
    </form>
  );
}
