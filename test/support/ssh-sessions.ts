// SSH sessions as a lab host's sshd saw them: its journal (ssh.service) since a cursor, and the most
// sessions open at once in it. Used by the e2e test of the per-host session cap and by the deploy
// bench. A session opens at "Accepted publickey" and closes at "session closed" of the same sshd
// process; one still open at the end of the journal counts as open until then.
import { type LabEnv, sshOk } from "../../scripts/lab/driver";
import type { LabHost } from "../../scripts/lab/stacks";

/** The journal's current cursor on a host (what sshJournalSince starts after). */
export function sshJournalCursor(env: LabEnv, host: LabHost): string {
  const out = sshOk(env, host, "journalctl -u ssh --no-pager -n 0 --show-cursor");
  const cursor = /^-- cursor: (\S+)/m.exec(out)?.[1];
  if (!cursor) throw new Error(`${host.name}: no journal cursor in ${JSON.stringify(out)}`);
  return cursor;
}

/** sshd's journal lines after `cursor`, with their timestamps (journalctl -o short-unix). */
export function sshJournalSince(env: LabEnv, host: LabHost, cursor: string): string {
  return sshOk(env, host, `journalctl -u ssh --no-pager -o short-unix --after-cursor='${cursor.replace(/'/g, "")}'`);
}

export interface SessionSpan {
  pid: string;
  from: number;
  to: number;
}

/** The sessions of a journal text (short-unix lines): when each opened and closed. */
export function sshSessions(journal: string): SessionSpan[] {
  const open = new Map<string, number>();
  const spans: SessionSpan[] = [];
  let last = 0;
  for (const line of journal.split("\n")) {
    const m = /^(\d+(?:\.\d+)?) \S+ sshd\[(\d+)\]: (.*)$/.exec(line);
    if (!m) continue;
    const t = Number(m[1]);
    last = Math.max(last, t);
    if (/^Accepted \S+ for /.test(m[3]!)) open.set(m[2]!, t);
    else if (/session closed for user/.test(m[3]!) && open.has(m[2]!)) {
      spans.push({ pid: m[2]!, from: open.get(m[2]!)!, to: t });
      open.delete(m[2]!);
    }
  }
  for (const [pid, from] of open) spans.push({ pid, from, to: last });
  return spans;
}

/** The most sessions open at the same instant (a close at the instant of an open counts first). */
export function maxConcurrentSessions(journal: string): number {
  const events = sshSessions(journal).flatMap((s) => [
    { t: s.from, d: 1 },
    { t: s.to, d: -1 },
  ]);
  events.sort((a, b) => a.t - b.t || a.d - b.d);
  let now = 0;
  let most = 0;
  for (const e of events) {
    now += e.d;
    most = Math.max(most, now);
  }
  return most;
}
