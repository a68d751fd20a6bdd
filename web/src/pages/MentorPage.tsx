import { useCallback, useEffect, useState } from "react";
import { asProblem, problemText, type ApiClient, type EventType, type Schemas } from "../api/client";
import { NoShowAction, type NoShowChoice } from "../components/NoShowAction";
import { money, visitorTimeZone, when } from "../format";
import { noShowWords } from "../status";

type Sessions = Schemas["MentorBookingsView"];
type Session = Schemas["SessionView"];
type Earnings = Schemas["EarningsView"];

const PAST_SHOWN = 20;
const MENTOR_NO_SHOWS: NoShowChoice[] = [
  {
    party: "attendee",
    label: "The attendee did not show",
    consequence: "Record that the attendee did not show up? You are paid as for a session held.",
  },
  {
    party: "mentor",
    label: "I could not attend",
    consequence: "Record that you did not attend? The attendee is refunded in full at once.",
  },
];

interface Props {
  api: ApiClient;
  eventTypes: EventType[];
}

/** A mentor's sessions, in the mentor's own time zone, no-shows of past ones, and earnings. */
export function MentorPage({ api, eventTypes }: Props) {
  const [sessions, setSessions] = useState<Sessions | null>(null);
  const [earnings, setEarnings] = useState<Earnings | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const timeZone = visitorTimeZone();

  const load = useCallback(async () => {
    const [booked, earned] = await Promise.all([
      api.GET("/api/mentors/me/bookings"),
      api.GET("/api/mentors/me/earnings"),
    ]);
    if (booked.data) setSessions(booked.data);
    else setError(problemText(asProblem(booked.error, booked.response)));
    if (earned.data) setEarnings(earned.data);
    else setError(problemText(asProblem(earned.error, earned.response)));
  }, [api]);
  useEffect(() => {
    void load();
  }, [load]);

  const row = (session: Session) => (
    <SessionRow
      key={session.bookingId}
      api={api}
      session={session}
      eventTypes={eventTypes}
      timeZone={timeZone}
      onReported={async (words) => {
        setNotice(words);
        await load();
      }}
    />
  );
  const upcoming = sessions?.upcoming ?? [];
  const past = (sessions?.past ?? []).filter((session) => session.status === "ACCEPTED");
  return (
    <>
      <section className="card" aria-labelledby="mentor-title">
        <h1 id="mentor-title">Your upcoming sessions</h1>
        <p className="muted">Times are in your time zone, {timeZone}.</p>
        {notice && <p role="status" className="notice">{notice}</p>}
        {error && <p role="alert" className="error">{error}</p>}
        {sessions && upcoming.length === 0 && <p>No upcoming sessions.</p>}
        <ul className="bookings">{upcoming.map(row)}</ul>
      </section>
      {past.length > 0 && (
        <section className="card" aria-labelledby="past-title">
          <h2 id="past-title">Past sessions</h2>
          <ul className="bookings">{past.slice(0, PAST_SHOWN).map(row)}</ul>
        </section>
      )}
      <section className="card" aria-labelledby="earnings-title">
        <h2 id="earnings-title">Your earnings</h2>
        {earnings && earnings.currencies.length === 0 && <p>Nothing earned yet.</p>}
        <ul className="bookings">
          {earnings?.currencies.map((line) => (
            <li key={line.currency}>
              <p>
                Due at the next payout: {money(line.due, line.currency)}; held until the session
                and its hold are over: {money(line.held, line.currency)}; paid out:{" "}
                {money(line.paidOut - line.reversed, line.currency)}
              </p>
            </li>
          ))}
        </ul>
      </section>
    </>
  );
}

function SessionRow({
  api,
  session,
  eventTypes,
  timeZone,
  onReported,
}: {
  api: ApiClient;
  session: Session;
  eventTypes: EventType[];
  timeZone: string;
  onReported: (words: string) => Promise<void>;
}) {
  const type = eventTypes.find((candidate) => candidate.id === session.eventTypeId);
  const what = `${type?.title ?? `Event type ${session.eventTypeId}`} with ${session.attendeeName}`;
  const started = Date.now() >= Date.parse(session.start);
  return (
    <li>
      <h2>{when(session.start, session.end, timeZone)}</h2>
      <p>{what}</p>
      {session.noShow && <p className="status">{noShowWords(session.noShow, "mentor")}</p>}
      {started && !session.noShow && (
        <NoShowAction
          api={api}
          bookingId={session.bookingId}
          title={what}
          choices={MENTOR_NO_SHOWS}
          onReported={(report) => {
            const state = report.booking.noShow;
            void onReported(state ? noShowWords(state, "mentor") : "Recorded.");
          }}
        />
      )}
    </li>
  );
}
