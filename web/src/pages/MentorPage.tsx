import { useEffect, useState } from "react";
import { asProblem, problemText, type ApiClient, type EventType, type Schemas } from "../api/client";
import { money, visitorTimeZone, when } from "../format";

type Sessions = Schemas["MentorBookingsView"];
type Earnings = Schemas["EarningsView"];

interface Props {
  api: ApiClient;
  eventTypes: EventType[];
}

/** A mentor's upcoming sessions, in the mentor's own time zone, and what they have earned. */
export function MentorPage({ api, eventTypes }: Props) {
  const [sessions, setSessions] = useState<Sessions | null>(null);
  const [earnings, setEarnings] = useState<Earnings | null>(null);
  const [error, setError] = useState<string | null>(null);
  const timeZone = visitorTimeZone();

  useEffect(() => {
    void api.GET("/api/mentors/me/bookings").then(({ data, error: failure, response }) => {
      if (data) setSessions(data);
      else setError(problemText(asProblem(failure, response)));
    });
    void api.GET("/api/mentors/me/earnings").then(({ data, error: failure, response }) => {
      if (data) setEarnings(data);
      else setError(problemText(asProblem(failure, response)));
    });
  }, [api]);

  const upcoming = sessions?.upcoming ?? [];
  return (
    <>
      <section className="card" aria-labelledby="mentor-title">
        <h1 id="mentor-title">Your upcoming sessions</h1>
        <p className="muted">Times are in your time zone, {timeZone}.</p>
        {error && <p role="alert" className="error">{error}</p>}
        {sessions && upcoming.length === 0 && <p>No upcoming sessions.</p>}
        <ul className="bookings">
          {upcoming.map((session) => {
            const type = eventTypes.find((candidate) => candidate.id === session.eventTypeId);
            return (
              <li key={session.bookingId}>
                <h2>{when(session.start, session.end, timeZone)}</h2>
                <p>
                  {type?.title ?? `Event type ${session.eventTypeId}`} with {session.attendeeName}
                </p>
              </li>
            );
          })}
        </ul>
      </section>
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
