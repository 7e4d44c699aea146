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
