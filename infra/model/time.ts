// Times of day: config files write "HH:MM"; the model holds minutes since midnight (0..1439).

export const MINUTES_PER_DAY = 1440;

const TIME_RE = /^([01]\d|2[0-3]):([0-5]\d)$/;

/** "12:30" → 750; undefined if not a valid 24-hour "HH:MM" time. */
export function parseTimeOfDay(text: string): number | undefined {
  const m = TIME_RE.exec(text);
  if (!m) return undefined;
  return Number(m[1]) * 60 + Number(m[2]);
}

export function isTimeOfDay(text: string): boolean {
  return TIME_RE.test(text);
}

/** 750 → "12:30" (any integer is taken modulo a day). */
export function formatTimeOfDay(minutes: number): string {
  const m = mod(Math.round(minutes), MINUTES_PER_DAY);
  return `${String(Math.floor(m / 60)).padStart(2, "0")}:${String(m % 60).padStart(2, "0")}`;
}

/** Mathematical modulo (never negative for n > 0). */
export function mod(a: number, n: number): number {
  return ((a % n) + n) % n;
}

/** Is minute `t` inside the cyclic window [start, start + length) of a day? */
export function inDailyWindow(t: number, start: number, length: number): boolean {
  if (length <= 0) return false;
  if (length >= MINUTES_PER_DAY) return true;
  return mod(t - start, MINUTES_PER_DAY) < length;
}

/** An IANA time zone name the platform knows ("Europe/Paris", "UTC"); systemd takes the same names. */
export function isTimeZone(name: string): boolean {
  if (!/^[A-Za-z][A-Za-z0-9_+-]*(?:\/[A-Za-z0-9_+-]+)*$/.test(name)) return false;
  try {
    new Intl.DateTimeFormat("en", { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

/** Hours with two decimals ("12.85 h"); `never` for an infinite duration (nothing ever replicates). */
export function formatHours(h: number, never: string): string {
  return Number.isFinite(h) ? `${h.toFixed(2)} h` : never;
}

/** A duration under an hour in whole minutes ("5 min"), else as formatHours. */
export function formatMinutesOrHours(h: number, never: string): string {
  return Number.isFinite(h) && h < 1 ? `${Math.round(h * 60)} min` : formatHours(h, never);
}
