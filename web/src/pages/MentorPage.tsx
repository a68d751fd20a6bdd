import { useEffect, useState } from "react";
import { asProblem, problemText, type ApiClient, type Booking, type EventType } from "../api/client";
import { visitorTimeZone, when } from "../format";
import { statusWords } from "../status";

interface Props {
  api: ApiClient;
  eventTypes: EventType[];
}

/** A mentor's upcoming sessions, in the mentor's own time zone. */
export function MentorPage({ api, eventTypes }: Props) {
  const [sessions, setSessions] = useState<Booking[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const timeZone = visitorTimeZone();

  useEffect(() => {
    void api.GET("/api/mentor/bookings").then(({ data, error: failure, response }) => {
      if (data) setSessions(data);
      else setError(problemText(asProblem(failure, response)));
    });
  }, [api]);

  const booked = sessions?.filter((session) => session.status === "ACCEPTED") ?? [];
  return (
    <section className="card" aria-labelledby="mentor-title">
      <h1 id="mentor-title">Your upcoming sessions</h1>
      <p className="muted">Times are in your time zone, {timeZone}.</p>
      {error && <p role="alert" className="error">{error}</p>}
      {sessions && booked.length === 0 && <p>No upcoming sessions.</p>}
      <ul className="bookings">
        {booked.map((session) => {
          const type = eventTypes.find((candidate) => candidate.id === session.eventTypeId);
          return (
            <li key={session.id}>
              <h2>{when(session.start, session.end, timeZone)}</h2>
              <p>
                {type?.title ?? `Event type ${session.eventTypeId}`} with {session.attendeeName}{" "}
                ({session.attendeeEmail})
              </p>
              <p className="status">{statusWords(session)}</p>
            </li>
          );
        })}
      </ul>
    </section>
  );
}
