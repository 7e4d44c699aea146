// systemd OnCalendar= rendering of times of day (minutes since midnight) in the fleet's time zone:
// "*-*-* 00,12:00:00 Europe/Paris" fires at midnight and noon Paris time whatever zone the server's
// clock is set to (systemd ≥ 235 reads the trailing IANA zone).

const MINUTES_PER_DAY = 1440;

function two(n: number): string {
  return String(n).padStart(2, "0");
}

/** Checks a list of times of day: integers in 0..1439, no duplicates. Returns them sorted. */
export function checkTimes(times: readonly number[], what = "times"): number[] {
  if (times.length === 0) throw new Error(`${what}: at least one time of day is needed`);
  for (const t of times) {
    if (!Number.isInteger(t) || t < 0 || t >= MINUTES_PER_DAY) {
      throw new Error(`${what}: ${t} is not a time of day (integer minutes 0..1439)`);
    }
  }
  const sorted = [...times].sort((a, b) => a - b);
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i] === sorted[i - 1]) throw new Error(`${what}: ${sorted[i]} is listed twice`);
  }
  return sorted;
}

/**
 * Calendar expressions for the times, one per distinct minute value:
 * [0, 720] → ["*-*-* 00,12:00:00"]; [90, 450, 810] → ["*-*-* 01,07,13:30:00"];
 * [0, 390] → ["*-*-* 00:00:00", "*-*-* 06:30:00"].
 */
export function calendarExpressions(times: readonly number[], timeZone?: string): string[] {
  const sorted = checkTimes(times);
  const zone = timeZone === undefined ? "" : ` ${checkTimeZone(timeZone)}`;
  const byMinute = new Map<number, number[]>();
  for (const t of sorted) {
    const m = t % 60;
    const hours = byMinute.get(m) ?? [];
    hours.push(Math.floor(t / 60));
    byMinute.set(m, hours);
  }
  const firstOf = (m: number): number => (byMinute.get(m) ?? [0])[0]! * 60 + m;
  return [...byMinute.keys()]
    .sort((a, b) => firstOf(a) - firstOf(b))
    .map((m) => `*-*-* ${byMinute.get(m)!.map(two).join(",")}:${two(m)}:00${zone}`);
}

/** A time zone name safe on an OnCalendar= line (the model validated it against the platform's zones). */
export function checkTimeZone(zone: string): string {
  if (!/^[A-Za-z][A-Za-z0-9_+-]*(?:\/[A-Za-z0-9_+-]+)*$/.test(zone)) throw new Error(`time zone '${zone}' is not an IANA zone name`);
  return zone;
}

/**
 * The [Timer] lines of a timer drop-in: an empty OnCalendar= (drops whatever an earlier file
 * set) then one OnCalendar= per expression.
 */
export function onCalendar(times: readonly number[], timeZone?: string): string {
  return ["OnCalendar=", ...calendarExpressions(times, timeZone).map((e) => `OnCalendar=${e}`)].join("\n") + "\n";
}

/** One comma item of a calendar time component: "*", "7", "0..6", "3/4", "1..11/2". */
function expandItem(item: string, max: number, what: string): number[] {
  const m = /^(\*|\d{1,2})(?:\.\.(\d{1,2}))?(?:\/(\d{1,2}))?$/.exec(item);
  if (!m) throw new Error(`${what} '${item}' is not a number, range or repetition`);
  const start = m[1] === "*" ? 0 : Number(m[1]);
  const end = m[2] !== undefined ? Number(m[2]) : m[1] === "*" || m[3] !== undefined ? max : start;
  const step = m[3] !== undefined ? Number(m[3]) : 1;
  if (start > max || end > max || end < start || step < 1) throw new Error(`${what} '${item}' is out of 0..${max}`);
  const out: number[] = [];
  for (let v = start; v <= end; v += step) out.push(v);
  return out;
}

function expandComponent(text: string, max: number, what: string): number[] {
  return [...new Set(text.split(",").flatMap((item) => expandItem(item, max, what)))];
}

/**
 * The times of day (minutes, sorted) a systemd calendar expression starts at, when it starts every
 * day at whole minutes: "*-*-* 00,12:00:00", "06:30", "*-*-* *:00/15:00", "daily", "hourly",
 * "minutely". With `timeZone`, the expression must carry exactly that zone ("… Europe/Paris"), the
 * way calendarExpressions renders a fleet's timers. Throws on anything else (a weekday or date
 * restriction, another or a missing time zone, a start at a second other than 0): such a timer
 * does not run at a list of daily times one can compare. The inverse of calendarExpressions.
 */
export function parseCalendarTimes(expression: string, timeZone?: string): number[] {
  const shorthand: Record<string, string> = { minutely: "*-*-* *:*:00", hourly: "*-*-* *:00:00", daily: "*-*-* 00:00:00" };
  const text = shorthand[expression.trim().toLowerCase()] ?? expression.trim();
  const parts = text.split(/\s+/);
  let time: string;
  let zone: string | undefined;
  if (parts.length === 1) time = parts[0]!;
  else if (parts.length === 2 && parts[0] === "*-*-*") time = parts[1]!;
  else if (parts.length === 3 && parts[0] === "*-*-*" && timeZone !== undefined) [time, zone] = [parts[1]!, parts[2]!];
  else throw new Error(`calendar '${expression}' is not a daily list of times ('*-*-* HH:MM:SS'): a weekday, date or time zone restricts or moves it`);
  if (timeZone !== undefined && zone !== timeZone) {
    throw new Error(
      zone === undefined
        ? `calendar '${expression}' has no time zone: it runs at the server's local time, the fleet's timers are in ${timeZone}`
        : `calendar '${expression}' is in time zone ${zone}, the fleet's timers are in ${timeZone}`,
    );
  }
  const fields = time.split(":");
  if (fields.length < 2 || fields.length > 3) throw new Error(`calendar '${expression}': time '${time}' is not HH:MM[:SS]`);
  const seconds = fields[2] === undefined ? [0] : expandComponent(fields[2], 59, `calendar '${expression}': second`);
  if (seconds.length !== 1 || seconds[0] !== 0) throw new Error(`calendar '${expression}' starts at second(s) ${seconds.join(",")}, not at whole minutes`);
  const hours = expandComponent(fields[0]!, 23, `calendar '${expression}': hour`);
  const minutes = expandComponent(fields[1]!, 59, `calendar '${expression}': minute`);
  return [...new Set(hours.flatMap((h) => minutes.map((m) => h * 60 + m)))].sort((a, b) => a - b);
}
