// Money in minor units and times in a named zone, in the visitor's language.

export function visitorTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
}

export function money(amount: number, currency: string): string {
  const format = new Intl.NumberFormat(undefined, { style: "currency", currency });
  const digits = format.resolvedOptions().maximumFractionDigits ?? 2;
  return format.format(amount / 10 ** digits);
}

/** "Wednesday 2 December 2026" in `timeZone`. */
export function day(iso: string, timeZone: string): string {
  return new Intl.DateTimeFormat(undefined, {
    weekday: "long",
    day: "numeric",
    month: "long",
    year: "numeric",
    timeZone,
  }).format(new Date(iso));
}

/** "Wed 2 Dec" in `timeZone`. */
export function shortDay(iso: string, timeZone: string): string {
  return new Intl.DateTimeFormat(undefined, {
    weekday: "short",
    day: "numeric",
    month: "short",
    timeZone,
  }).format(new Date(iso));
}

/** "09:00" in `timeZone`. */
export function time(iso: string, timeZone: string): string {
  return new Intl.DateTimeFormat(undefined, {
    hour: "2-digit",
    minute: "2-digit",
    timeZone,
  }).format(new Date(iso));
}

/** "Wednesday 2 December 2026, 09:00–09:30 (Europe/London)". */
export function when(start: string, end: string, timeZone: string): string {
  return `${day(start, timeZone)}, ${time(start, timeZone)}–${time(end, timeZone)} (${timeZone})`;
}

/** A stable key for the calendar day of `iso` in `timeZone` (YYYY-MM-DD). */
export function dayKey(iso: string, timeZone: string): string {
  return new Intl.DateTimeFormat("en-CA", { timeZone }).format(new Date(iso));
}
