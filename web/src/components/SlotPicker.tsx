// An event type's free times over the next days, chosen by day then time in the visitor's time
// zone: the booking form and a reschedule both pick a time with it.
import { useCallback, useEffect, useMemo, useState } from "react";
import { asProblem, problemText, type ApiClient, type Slot } from "../api/client";
import { day, dayKey, shortDay, time } from "../format";

export const DAYS_AHEAD = 14;

export interface FreeSlots {
  slots: Slot[] | null;
  error: string | null;
  /** Ask again (after a time turned out to be taken). */
  reload: () => void;
}

/** The free slots of `eventTypeId` from an hour from now for `DAYS_AHEAD` days. */
export function useFreeSlots(
  api: ApiClient,
  eventTypeId: number | undefined,
  timeZone: string,
): FreeSlots {
  const [slots, setSlots] = useState<Slot[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [round, setRound] = useState(0);
  const reload = useCallback(() => setRound((count) => count + 1), []);

  useEffect(() => {
    if (eventTypeId === undefined) return;
    let current = true;
    setSlots(null);
    setError(null);
    const from = new Date(Date.now() + 60 * 60 * 1000);
    const to = new Date(from.getTime() + DAYS_AHEAD * 24 * 60 * 60 * 1000);
    api
      .GET("/api/event-types/{event_type_id}/slots", {
        params: {
          path: { event_type_id: eventTypeId },
          query: { start: from.toISOString(), end: to.toISOString(), timeZone },
        },
      })
      .then(({ data, error: failure, response }) => {
        if (!current) return;
        if (data) setSlots(data);
        else setError(problemText(asProblem(failure, response)));
      });
    return () => {
      current = false;
    };
  }, [api, eventTypeId, timeZone, round]);

  return { slots, error, reload };
}

interface Props {
  free: FreeSlots;
  timeZone: string;
  /** The chosen start (ISO), or null. */
  value: string | null;
  onChange: (start: string) => void;
  /** Names the radio groups, unique on the page. */
  name: string;
}

/** "Pick a day" then "Pick a time on …", each a radio group (arrow keys move, Tab leaves). */
export function SlotPicker({ free, timeZone, value, onChange, name }: Props) {
  const { slots, error } = free;
  const days = useMemo(() => groupByDay(slots ?? [], timeZone), [slots, timeZone]);
  const [chosenDay, setChosenDay] = useState<string | null>(null);
  const shownDay = days.some(([key]) => key === chosenDay) ? chosenDay : (days[0]?.[0] ?? null);
  const dayKeyed = days.find(([key]) => key === shownDay);

  return (
    <>
      <fieldset className="slots">
        <legend>Pick a day</legend>
        {error && <p role="alert" className="error">{error}</p>}
        {!slots && !error && <p aria-live="polite">Loading free times…</p>}
        {slots && slots.length === 0 && <p>No free times in the next {DAYS_AHEAD} days.</p>}
        <div className="days">
          {days.map(([key, daySlots]) => (
            <label key={key} className={key === shownDay ? "choice chosen" : "choice"}>
              <input
                type="radio"
                name={`${name}-day`}
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
              <label key={slot.start} className={slot.start === value ? "choice chosen" : "choice"}>
                <input
                  type="radio"
                  name={`${name}-slot`}
                  value={slot.start}
                  checked={slot.start === value}
                  onChange={() => onChange(slot.start)}
                />
                {time(slot.start, timeZone)}
              </label>
            ))}
          </div>
        </fieldset>
      )}
      {value && (
        <p className="chosen-slot" aria-live="polite">
          Your choice: {day(value, timeZone)}, {time(value, timeZone)}
        </p>
      )}
    </>
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
