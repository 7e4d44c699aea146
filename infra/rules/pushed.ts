// Rules on what is really pushed to the servers: the files a bundle's remote command carries in its
// push frame (infra/render/push.ts), checked against the topology. The policy pack reads the frames
// from the stack's `command:remote:Command` resources and runs these; the tests run them on the
// renderers' own bundles. Pure functions of files, servers and the topology.
//
//   pushed.authorized-keys     every authorized_keys line pushed is restricted (access.ts's checker)
//   pushed.timers              every instance timer starts at the planned times, nothing else moves it
//   pushed.replication-sources every replication pulls from the instance's hosting server, far enough
//   pushed.operator-keys       the deploy user's keys file holds the deploy key and exactly the declared operators
import { hostForRemotePath, hostFromRemotePath, isIpv6Address, sameSshHost } from "../model/address";
import { fleetTimeZone, MAX_MINUTE_OFFSET } from "../model/defaults";
import { planInstance } from "../model/schedule";
import { formatTimeOfDay, mod, MINUTES_PER_DAY } from "../model/time";
import type { Instance, Server, Severity, Topology, Violation } from "../model/types";
import { parseCalendarTimes } from "../render/calendar";
import { parseEnvFile, type ServerFile } from "../render/files";
import { backupUser, PATHS } from "../render/paths";
import { accessProblems } from "./access";
import { ACCESS_PATHS, OPERATOR_COMMENT_PREFIX, renderSshdDropIn } from "../render/operators";
import { fingerprintOfBlob, publicKeyProblem } from "../model/ssh-keys";
import { geoMinDistance, backupNotHosting } from "./rules";

export const PUSHED_RULES = {
  authorizedKeys: "pushed.authorized-keys",
  timers: "pushed.timers",
  replicationSources: "pushed.replication-sources",
  operatorKeys: "pushed.operator-keys",
} as const;

/** One push: the files a remote command writes on one server. */
export interface PushedBundle {
  /** Identifies the push in the violations (the policy pack: the command's URN). */
  id: string;
  /** Human name (the command's resource name, e.g. "acme-erp/bk-ovh-sbg-1/apply"). */
  name: string;
  /**
   * Where the command connects; "unknown" while a preview does not know it yet (the checks that
   * need the server then skip the push: the caller says the check could not run).
   */
  endpoint?: { host: string; port: number } | "unknown";
  files: ServerFile[];
}

/** A violation of a pushed.* rule, with the push it concerns. */
export interface PushedViolation extends Violation {
  /** The push it concerns ("" for a push that is missing). */
  bundle: string;
  /** The fleet policy keys that set the violated threshold, if any. */
  configuredBy?: string[];
}

function pushedViolation(ruleId: string, b: PushedBundle, message: string, extra: Partial<Violation> = {}): PushedViolation {
  return { ruleId, severity: "mandatory" as Severity, message: `${b.name}: ${message}`, bundle: b.id, ...extra };
}

// ---- pushed.authorized-keys ----

/** Key types of OpenSSH public keys (what starts the key part of an authorized_keys line). */
const KEY_TYPE = /^(ssh-(ed25519|rsa|dss)|ecdsa-sha2-nistp\d+|sk-(ssh-ed25519|ecdsa-sha2-nistp256)@openssh\.com|[a-z0-9-]+-cert-v01@openssh\.com)$/;

export interface AuthorizedKeysLine {
  options: string[];
  keyType: string;
  key: string;
  comment: string;
}

/**
 * Splits one authorized_keys line as sshd reads it: an optional options field (comma-separated,
 * double-quoted values may hold commas, spaces and \"), the key type, the base64 key, a comment.
 * Throws when the line has no key type where sshd expects one.
 */
export function parseAuthorizedKeysLine(line: string): AuthorizedKeysLine {
  const text = line.trim();
  let i = 0;
  const options: string[] = [];
  const firstWord = text.split(/\s+/)[0] ?? "";
  if (!KEY_TYPE.test(firstWord)) {
    // options field: up to the first blank outside quotes
    let current = "";
    let quoted = false;
    for (; i < text.length; i++) {
      const c = text[i]!;
      if (quoted && c === "\\" && text[i + 1] === '"') {
        current += '\\"';
        i++;
        continue;
      }
      if (c === '"') quoted = !quoted;
      if (!quoted && (c === " " || c === "\t")) break;
      if (!quoted && c === ",") {
        options.push(current);
        current = "";
        continue;
      }
      current += c;
    }
    if (quoted) throw new Error("unterminated quote in the options");
    options.push(current);
  }
  const rest = text.slice(i).trim().split(/\s+/);
  const [keyType = "", key = "", ...comment] = rest;
  if (!KEY_TYPE.test(keyType)) throw new Error(`no key type after the options (found ${JSON.stringify(keyType.slice(0, 40))})`);
  if (!/^[A-Za-z0-9+/]+={0,3}$/.test(key)) throw new Error("the key is not base64");
  return { options: options.filter((o) => o.length > 0), keyType, key, comment: comment.join(" ") };
}

/** Is this path an authorized_keys file (any user's, the backup users' under PATHS.usersHome included)? */
export function isAuthorizedKeysPath(path: string): boolean {
  return /\/authorized_keys2?$/.test(path);
}

/**
 * pushed.authorized-keys: every key line of every authorized_keys file in the push is restricted
 * like the access declarations must be (access.ts's accessProblems on the line's options).
 */
/**
 * The key lines of an authorized_keys text, blank and comment lines skipped: each with its index
 * (0-based) and its parse, or the parser's error for a line that is no key.
 */
export function keyLinesOf(content: string): Array<{ n: number; parsed?: AuthorizedKeysLine; error?: string }> {
  const out: Array<{ n: number; parsed?: AuthorizedKeysLine; error?: string }> = [];
  content.split("\n").forEach((raw, n) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) return;
    try {
      out.push({ n, parsed: parseAuthorizedKeysLine(line) });
    } catch (e) {
      out.push({ n, error: (e as Error).message });
    }
  });
  return out;
}

export function checkPushedAuthorizedKeys(bundle: PushedBundle): PushedViolation[] {
  const out: PushedViolation[] = [];
  for (const f of bundle.files) {
    if (!isAuthorizedKeysPath(f.path)) continue;
    for (const { n, parsed, error } of keyLinesOf(f.content)) {
      const where = `${f.path} line ${n + 1}`;
      if (!parsed) {
        out.push(pushedViolation(PUSHED_RULES.authorizedKeys, bundle, `${where} is not an authorized_keys line sshd reads as the pack does: ${error}`));
        continue;
      }
      const problems = accessProblems(parsed.options);
      if (problems.length > 0) {
        out.push(
          pushedViolation(
            PUSHED_RULES.authorizedKeys,
            bundle,
            `${where} lets key ${parsed.keyType} …${parsed.key.slice(-8)}${parsed.comment ? ` (${parsed.comment})` : ""} in unrestricted: ${problems.join("; ")} (options: ${parsed.options.join(",") || "none"})`,
          ),
        );
      }
    }
  }
  return out;
}

// ---- shared: servers and instances of the topology ----

function serverAt(topology: Topology, endpoint: { host: string; port: number }): Server[] {
  return topology.fleet.servers.filter((s) => sameSshHost(s.ssh.host, endpoint.host) && s.ssh.port === endpoint.port);
}

/** The server a push goes to, why it cannot be named, or null when it is not known yet. */
function targetOf(topology: Topology, b: PushedBundle): Server | string | null {
  if (b.endpoint === "unknown") return null;
  if (!b.endpoint) return "the command has no SSH connection";
  const at = serverAt(topology, b.endpoint);
  const addr = `${b.endpoint.host}:${b.endpoint.port}`;
  if (at.length === 0) return `it connects to ${addr}, which is no server this stack's components describe`;
  if (at.length > 1) return `it connects to ${addr}, which several servers claim (${at.map((s) => s.name).join(", ")})`;
  return at[0]!;
}

function instanceNamed(topology: Topology, name: string): Instance | undefined {
  for (const c of topology.clients) for (const i of c.instances) if (i.name === name) return i;
  return undefined;
}

function instanceFields(topology: Topology, inst: Instance): Partial<Violation> {
  const client = topology.clients.find((c) => c.instances.includes(inst));
  return { instance: inst.name, ...(client ? { client: client.client, file: client.file } : {}) };
}

const fmt = (ts: readonly number[]): string => ts.map(formatTimeOfDay).join(" ") || "none";
const sameList = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((x, i) => x === b[i]);
const sorted = (ts: Iterable<number>): number[] => [...new Set(ts)].sort((a, b) => a - b);

// ---- pushed.timers ----

const UNIT_DIRS = ["/etc/systemd/system", "/run/systemd/system", "/usr/local/lib/systemd/system", "/usr/lib/systemd/system", "/lib/systemd/system"];
const TIMER_FILE = /^(dolibarr-dump|dolibarr-replicate)@([^/]*)\.timer(?:\.d\/([^/]+\.conf))?$/;

export interface TimerFile {
  template: "dolibarr-dump" | "dolibarr-replicate";
  /** "" for the template itself (dolibarr-dump@.timer and its drop-ins). */
  instance: string;
  /** The drop-in's file name, or undefined for the unit file. */
  dropIn?: string;
  unitDir: string;
}

/** Is this path a unit file or drop-in of a dolibarr-backup timer (in any systemd unit directory)? */
export function timerFileOf(path: string): TimerFile | undefined {
  for (const dir of UNIT_DIRS) {
    if (!path.startsWith(`${dir}/`)) continue;
    const m = TIMER_FILE.exec(path.slice(dir.length + 1));
    if (!m) return undefined;
    return { template: m[1] as TimerFile["template"], instance: m[2]!, ...(m[3] ? { dropIn: m[3] } : {}), unitDir: dir };
  }
  return undefined;
}

/** What a timer file sets: its OnCalendar= lines in order ("" resets), and the other [Timer] settings. */
export function timerSettings(content: string): { onCalendar: string[]; other: string[] } {
  const onCalendar: string[] = [];
  const other: string[] = [];
  let section = "";
  for (const raw of content.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    const sec = /^\[(.+)\]$/.exec(line);
    if (sec) {
      section = sec[1]!;
      continue;
    }
    const eq = line.indexOf("=");
    const key = eq < 0 ? line : line.slice(0, eq).trim();
    const value = eq < 0 ? "" : line.slice(eq + 1).trim();
    if (section === "Timer" && key === "OnCalendar") onCalendar.push(value);
    else other.push(`[${section}] ${key}=${value}`);
  }
  return { onCalendar, other };
}

/** Keys that start a timer or move its starts: never set by a template, only OnCalendar= by a drop-in. */
const TRIGGERS = /^\[Timer\] (On[A-Za-z]+|RandomizedDelaySec|FixedRandomDelay)=/;

/** Seconds of a systemd time span ("1min", "30s", "1h 30min", "90"), or undefined when unreadable. */
export function timeSpanSeconds(text: string): number | undefined {
  const unit: Record<string, number> = { us: 1e-6, usec: 1e-6, ms: 1e-3, msec: 1e-3, "": 1, s: 1, sec: 1, second: 1, seconds: 1, m: 60, min: 60, minute: 60, minutes: 60, h: 3600, hr: 3600, hour: 3600, hours: 3600, d: 86400, day: 86400, days: 86400, w: 604800, week: 604800, weeks: 604800 };
  const t = text.trim();
  const parts = [...t.matchAll(/(\d+(?:\.\d+)?)\s*([a-z]*)\s*/g)];
  if (t === "" || parts.map((m) => m[0]).join("") !== t) return undefined;
  let total = 0;
  for (const m of parts) {
    const f = unit[m[2]!];
    if (f === undefined) return undefined;
    total += Number(m[1]) * f;
  }
  return total;
}

/** A timer's AccuracySec= lets systemd start it that much later: more than a minute moves the planned starts. */
const MAX_ACCURACY_SECONDS = 60;

/**
 * The start minutes an instance timer's drop-ins set together (in file name order, an empty
 * OnCalendar= drops what came before), or why they cannot be compared.
 */
function effectiveTimes(dropIns: ReadonlyArray<{ name: string; content: string }>, timeZone: string): number[] | string {
  let exprs: string[] = [];
  for (const d of [...dropIns].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    for (const e of timerSettings(d.content).onCalendar) exprs = e === "" ? [] : [...exprs, e];
  }
  const times: number[] = [];
  for (const e of exprs) {
    try {
      times.push(...parseCalendarTimes(e, timeZone));
    } catch (err) {
      return (err as Error).message;
    }
  }
  return sorted(times);
}

/** Offsets 0..MAX_MINUTE_OFFSET that move `planned` onto `deployed`. */
function offsetsMatching(deployed: readonly number[], planned: readonly number[]): number[] {
  const out: number[] = [];
  for (let off = 0; off <= MAX_MINUTE_OFFSET; off++) {
    if (sameList(deployed, sorted(planned.map((t) => mod(t + off, MINUTES_PER_DAY))))) out.push(off);
  }
  return out;
}

export interface PushedCheckOptions {
  /**
   * Every push of the stack is known (no stdin or endpoint unknown during a preview): a timer that
   * should be pushed and is not is then reported too.
   */
  complete?: boolean;
}

/**
 * pushed.timers: every dolibarr-backup timer file pushed sets the times the topology plans and
 * nothing else. The templates (and their drop-ins) start nothing; each instance's drop-ins, together,
 * start its dump timer at the instance's dumpTimes on its hosting server, and its replication timer
 * on each of its backup servers at the planner's times for that server moved by one client minute
 * offset 0..MAX_MINUTE_OFFSET (the same for all its backup servers: the staggering the rules checked).
 * With `complete`, a timer missing from its server is reported as well.
 */
export function checkPushedTimers(topology: Topology, bundles: readonly PushedBundle[], options: PushedCheckOptions = {}): PushedViolation[] {
  const out: PushedViolation[] = [];
  const rule = PUSHED_RULES.timers;
  // (instance, template, server) → drop-ins, with the push that carries them
  const groups = new Map<string, { inst: Instance; template: TimerFile["template"]; server: Server; bundle: PushedBundle; dropIns: Array<{ name: string; content: string }> }>();
  for (const b of bundles) {
    for (const f of b.files) {
      const t = timerFileOf(f.path);
      if (!t) continue;
      const unit = `${t.template}@${t.instance}.timer`;
      if (t.unitDir !== PATHS.unitDir) {
        out.push(pushedViolation(rule, b, `${f.path}: timer files belong in ${PATHS.unitDir}; one in ${t.unitDir} overrides what the pack checks`));
        continue;
      }
      if (t.instance === "") {
        const settings = timerSettings(f.content);
        const triggers = settings.onCalendar.filter((e) => e !== "").map((e) => `[Timer] OnCalendar=${e}`)
          .concat(settings.other.filter((s) => TRIGGERS.test(s)))
          .concat(settings.other.filter((s) => {
            const m = /^\[Timer\] AccuracySec=(.*)$/.exec(s);
            if (!m) return false;
            const seconds = timeSpanSeconds(m[1]!);
            return seconds === undefined || seconds > MAX_ACCURACY_SECONDS;
          }));
        if (triggers.length > 0) {
          out.push(pushedViolation(rule, b, `${f.path}: the template ${unit} must start nothing by itself nor delay starts by more than ${MAX_ACCURACY_SECONDS} s (every instance inherits it), but sets ${triggers.join(", ")}`));
        }
        continue;
      }
      if (t.dropIn === undefined) {
        out.push(pushedViolation(rule, b, `${f.path}: an instance's own timer unit replaces the template; dolibarr-backup only pushes drop-ins (${unit}.d/schedule.conf)`));
        continue;
      }
      const other = timerSettings(f.content).other;
      if (other.length > 0) {
        out.push(pushedViolation(rule, b, `${f.path}: a schedule drop-in sets only [Timer] OnCalendar=, not ${other.join(", ")}`));
      }
      const inst = instanceNamed(topology, t.instance);
      if (!inst) {
        out.push(pushedViolation(rule, b, `${f.path}: no instance ${t.instance} is declared by an Instance component of this stack, so its times cannot be checked against a plan`));
        continue;
      }
      const target = targetOf(topology, b);
      if (target === null) continue;
      if (typeof target === "string") {
        out.push(pushedViolation(rule, b, `${f.path}: cannot tell which server gets ${unit}: ${target}`, instanceFields(topology, inst)));
        continue;
      }
      const expectedRole = t.template === "dolibarr-dump" ? inst.hostingServer === target.name : inst.backupServers.includes(target.name);
      if (!expectedRole) {
        const should = t.template === "dolibarr-dump" ? `its hosting server ${inst.hostingServer}` : `one of its backup servers (${inst.backupServers.join(", ")})`;
        out.push(pushedViolation(rule, b, `${f.path}: ${unit} goes to ${target.name}, not to ${should}`, { ...instanceFields(topology, inst), servers: [target.name] }));
        continue;
      }
      const key = `${inst.name}\u0000${t.template}\u0000${target.name}`;
      const g = groups.get(key) ?? { inst, template: t.template, server: target, bundle: b, dropIns: [] };
      g.dropIns.push({ name: t.dropIn, content: f.content });
      groups.set(key, g);
    }
  }

  // offsets that fit each instance's replication timers, intersected over its backup servers
  const offsets = new Map<string, { fit: Set<number>; seen: string[]; bundle: PushedBundle }>();
  for (const g of groups.values()) {
    const { inst, server, bundle } = g;
    const unit = `${g.template}@${inst.name}.timer`;
    const fields = { ...instanceFields(topology, inst), servers: [server.name] };
    const deployed = effectiveTimes(g.dropIns, fleetTimeZone(topology.fleet));
    if (typeof deployed === "string") {
      out.push(pushedViolation(rule, bundle, `${unit} on ${server.name}: ${deployed}`, fields));
      continue;
    }
    if (g.template === "dolibarr-dump") {
      const planned = sorted(inst.schedule.dumpTimes);
      if (!sameList(deployed, planned)) {
        out.push(pushedViolation(rule, bundle, `${unit} on ${server.name} starts at ${fmt(deployed)}, but instance ${inst.name}'s dumpTimes are ${fmt(planned)}`, fields));
      }
      continue;
    }
    const plan = planInstance(topology.fleet, inst).find((p) => p.backupServer === server.name);
    const planned = sorted(plan?.times ?? []);
    const fit = offsetsMatching(deployed, planned);
    if (fit.length === 0) {
      out.push(
        pushedViolation(
          rule,
          bundle,
          `${unit} on ${server.name} starts at ${fmt(deployed)}, which is not the plan for ${server.name} (${fmt(planned)}) moved by a client offset of 0..${MAX_MINUTE_OFFSET} min; the rules checked the plan, not these times`,
          fields,
        ),
      );
      continue;
    }
    const o = offsets.get(inst.name);
    if (!o) offsets.set(inst.name, { fit: new Set(fit), seen: [`${server.name} +${fit.join("/")}`], bundle });
    else {
      o.fit = new Set([...o.fit].filter((x) => fit.includes(x)));
      o.seen.push(`${server.name} +${fit.join("/")}`);
    }
  }
  for (const [name, o] of offsets) {
    if (o.fit.size === 0) {
      const inst = instanceNamed(topology, name)!;
      out.push(
        pushedViolation(
          rule,
          o.bundle,
          `the replication timers of ${name} are moved by different client offsets (${o.seen.join(", ")} min): the plan's staggering between backup servers only holds with one offset`,
          instanceFields(topology, inst),
        ),
      );
    }
  }

  if (options.complete) {
    const have = new Set([...groups.values()].map((g) => `${g.inst.name}\u0000${g.template}\u0000${g.server.name}`));
    for (const c of topology.clients) {
      for (const inst of c.instances) {
        const wanted: Array<[TimerFile["template"], string]> = [
          ["dolibarr-dump", inst.hostingServer],
          ...[...new Set(inst.backupServers)].map((s): [TimerFile["template"], string] => ["dolibarr-replicate", s]),
        ];
        for (const [template, server] of wanted) {
          if (have.has(`${inst.name}\u0000${template}\u0000${server}`)) continue;
          out.push({
            ruleId: rule,
            severity: "mandatory",
            message: `instance ${inst.name}: no push sets the times of ${template}@${inst.name}.timer on ${server}: ${template === "dolibarr-dump" ? "no dumps" : "no replications"} would run there`,
            bundle: "",
            ...instanceFields(topology, inst),
            servers: [server],
          });
        }
      }
    }
  }
  return out;
}

// ---- pushed.replication-sources ----

const REPLICATION_ENV = new RegExp(`^${PATHS.instancesDir.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}/([^/]+)\\.env$`);

/**
 * pushed.replication-sources: every replication config pushed to a server (an instance env file
 * with SOURCE_HOST) makes a backup server of the instance pull it from the instance's hosting
 * server, as that backup server's restricted user, and that pair passes geo.min-distance and
 * backup.not-hosting: the rules run on the link as configured, not as declared.
 */
export function checkReplicationSources(topology: Topology, bundles: readonly PushedBundle[]): PushedViolation[] {
  const out: PushedViolation[] = [];
  const rule = PUSHED_RULES.replicationSources;
  for (const b of bundles) {
    for (const f of b.files) {
      const m = REPLICATION_ENV.exec(f.path);
      if (!m) continue;
      const name = m[1]!;
      let env: Record<string, string>;
      try {
        env = parseEnvFile(f.content);
      } catch (e) {
        out.push(pushedViolation(rule, b, `${f.path} cannot be read (the jobs source it): ${(e as Error).message}`));
        continue;
      }
      if (env.SOURCE_HOST === undefined) continue; // the hosting server's config of the instance: pulls nothing
      const inst = instanceNamed(topology, name);
      if (!inst) {
        out.push(pushedViolation(rule, b, `${f.path} makes a server pull instance ${name} from ${env.SOURCE_HOST}, but no Instance component of this stack declares ${name}`));
        continue;
      }
      const fields = instanceFields(topology, inst);
      if (env.INSTANCE !== undefined && env.INSTANCE !== name) {
        out.push(pushedViolation(rule, b, `${f.path} says INSTANCE='${env.INSTANCE}', not ${name}`, fields));
      }
      const target = targetOf(topology, b);
      if (target === null) continue;
      if (typeof target === "string") {
        out.push(pushedViolation(rule, b, `${f.path}: cannot tell which server pulls ${name}: ${target}`, fields));
        continue;
      }
      if (!inst.backupServers.includes(target.name)) {
        out.push(pushedViolation(rule, b, `${f.path} makes ${target.name} pull ${name}, but ${target.name} is not one of its backup servers (${inst.backupServers.join(", ")})`, { ...fields, servers: [target.name] }));
        continue;
      }
      if (isIpv6Address(env.SOURCE_HOST)) {
        // rsync reads user@fd00:77::12:/path as host "fd00": that config pulls from nowhere, on every run.
        out.push(pushedViolation(rule, b, `${f.path} says SOURCE_HOST='${env.SOURCE_HOST}', an IPv6 address without brackets, which rsync reads as host '${env.SOURCE_HOST.split(":")[0]}': it must be written '${hostForRemotePath(env.SOURCE_HOST)}'`, { ...fields, servers: [target.name] }));
        continue;
      }
      const port = env.SOURCE_PORT === undefined ? 22 : Number(env.SOURCE_PORT);
      // rsync's syntax, as rendered: an IPv6 source is written in brackets.
      const source = Number.isInteger(port) ? serverAt(topology, { host: hostFromRemotePath(env.SOURCE_HOST), port }) : [];
      const addr = `${env.SOURCE_HOST}:${env.SOURCE_PORT ?? 22}`;
      if (source.length !== 1) {
        out.push(
          pushedViolation(
            rule,
            b,
            `${target.name} pulls ${name} from ${addr}, which is ${source.length === 0 ? "no server of the fleet this stack knows" : `claimed by several servers (${source.map((s) => s.name).join(", ")})`}; it must be the hosting server ${inst.hostingServer}`,
            { ...fields, servers: [target.name] },
          ),
        );
        continue;
      }
      const src = source[0]!;
      const servers = [src.name, target.name];
      if (src.role !== "hosting") {
        out.push(pushedViolation(rule, b, `${target.name} pulls ${name} from ${src.name} (${addr}), a ${src.role} server, not a hosting server`, { ...fields, servers }));
        continue;
      }
      if (src.name !== inst.hostingServer) {
        // and the link as configured is checked below all the same
        out.push(pushedViolation(rule, b, `${target.name} pulls ${name} from ${src.name} (${addr}), but ${name} is hosted on ${inst.hostingServer}`, { ...fields, servers }));
      } else if (env.HOSTING_SERVER !== undefined && env.HOSTING_SERVER !== src.name) {
        out.push(pushedViolation(rule, b, `${f.path} names HOSTING_SERVER='${env.HOSTING_SERVER}' but pulls from ${src.name} (${addr})`, { ...fields, servers }));
      }
      if (env.SOURCE_USER !== backupUser(target.name)) {
        out.push(pushedViolation(rule, b, `${target.name} pulls ${name} as user '${env.SOURCE_USER ?? ""}', not its own restricted user ${backupUser(target.name)}`, { ...fields, servers }));
      }
      // The link as configured, through the topology rules themselves.
      const link: Topology = {
        fleet: { ...topology.fleet, servers: [src, target] },
        clients: [{ stack: "", file: fields.file ?? "", client: inst.client, fleetStack: topology.fleet.stack, instances: [{ ...inst, hostingServer: src.name, backupServers: [target.name] }] }],
      };
      for (const v of [...backupNotHosting.check(link), ...geoMinDistance.check(link)]) {
        const configuredBy = v.ruleId === geoMinDistance.id ? geoMinDistance.configuredBy : [];
        out.push({ ...pushedViolation(rule, b, `replication as pushed: ${v.message}`, { ...fields, servers: v.servers ?? servers }), configuredBy });
      }
    }
  }
  return out;
}

// ---- pushed.operator-keys ----

/** What a server's component declares: who logs in as its deploy user (ServerProps.operators). */
export interface DeclaredOperator {
  name: string;
  fingerprint: string;
}

/**
 * pushed.operator-keys: each push of a deploy user's keys file (ACCESS_PATHS.keysDir/<user>) holds,
 * without any option, the deploy key (the same as the push's deploy.pub, comment "dolibarr-backup
 * deploy …") and exactly the operators its server declares (`declared`, by server name: the
 * push's name starts with it), each with comment operator:<name> and its declared fingerprint, no
 * key twice; the push stages the sshd drop-in for that user as the renderer writes it. A server
 * declaring operators with no such push is reported when `complete` (every push known).
 */
export function checkPushedOperatorKeys(
  declared: ReadonlyMap<string, readonly DeclaredOperator[]>,
  bundles: readonly PushedBundle[],
  opts: { complete: boolean } = { complete: true },
): PushedViolation[] {
  const rule = PUSHED_RULES.operatorKeys;
  const out: PushedViolation[] = [];
  const pushedFor = new Set<string>();
  const prefix = `${ACCESS_PATHS.keysDir}/`;
  for (const b of bundles) {
    const keysFiles = b.files.filter((f) => f.path.startsWith(prefix));
    if (keysFiles.length === 0) continue;
    const server = b.name.split("/")[0] ?? "";
    const ops = declared.get(server);
    if (!ops) {
      out.push(pushedViolation(rule, b, `pushes ${keysFiles.map((f) => f.path).join(", ")} but server ${JSON.stringify(server)} declares no operators (its SSH access is not managed)`, { servers: [server] }));
      continue;
    }
    pushedFor.add(server);
    const v = (m: string) => out.push(pushedViolation(rule, b, m, { servers: [server] }));
    if (keysFiles.length > 1) v(`pushes ${keysFiles.length} keys files (${keysFiles.map((f) => f.path).join(", ")}); expected the deploy user's only`);
    const deployFile = b.files.find((f) => f.path === ACCESS_PATHS.deployKey);
    const deployBlob = deployFile?.content.trim().split(/\s+/)[1];
    if (!deployBlob) v(`pushes no deploy key (${ACCESS_PATHS.deployKey}): the create cannot check the keys file keeps the deploy user in`);
    for (const f of keysFiles) {
      const user = f.path.slice(prefix.length);
      const staged = b.files.find((x) => x.path === ACCESS_PATHS.stagedDropIn);
      let expectedDropIn: string | undefined;
      try {
        expectedDropIn = renderSshdDropIn(user);
      } catch (e) {
        v(`${f.path}: ${(e as Error).message}`);
      }
      if (!staged) v(`pushes ${f.path} without the sshd drop-in (${ACCESS_PATHS.stagedDropIn}): sshd would not read it, and ~/.ssh/authorized_keys would stay in force`);
      else if (expectedDropIn !== undefined && staged.content !== expectedDropIn) v(`${ACCESS_PATHS.stagedDropIn} is not the drop-in for ${user} (Match User ${user}, AuthorizedKeysFile ${ACCESS_PATHS.keysDir}/%u, AuthorizedKeysCommand none, nothing else)`);
      let deployLines = 0;
      const seenKeys = new Map<string, number>();
      const found = new Map<string, string>();
      for (const { n, parsed, error } of keyLinesOf(f.content)) {
        const where = `${f.path} line ${n + 1}`;
        if (!parsed) {
          v(`${where} is not a key line: ${error}`);
          continue;
        }
        if (parsed.options.length > 0) v(`${where} has options (${parsed.options.join(",")}); the deploy user's keys carry none`);
        const problem = publicKeyProblem(`${parsed.keyType} ${parsed.key}`, [parsed.keyType]);
        if (problem) v(`${where}: ${problem}`);
        const prev = seenKeys.get(parsed.key);
        if (prev !== undefined) v(`${where} repeats the key of line ${prev}`);
        else seenKeys.set(parsed.key, n + 1);
        const fp = fingerprintOfBlob(parsed.key);
        if (parsed.comment.startsWith("dolibarr-backup deploy ")) {
          deployLines++;
          if (deployBlob && parsed.key !== deployBlob) v(`${where}: the deploy line's key ${fp} is not the deploy key ${fingerprintOfBlob(deployBlob)}`);
        } else if (parsed.comment.startsWith(OPERATOR_COMMENT_PREFIX)) {
          const name = parsed.comment.slice(OPERATOR_COMMENT_PREFIX.length);
          if (found.has(name)) v(`${where}: operator ${name} has a second key`);
          found.set(name, fp);
        } else v(`${where}: key ${fp} (${JSON.stringify(parsed.comment.slice(0, 60))}) is neither the deploy key nor a declared operator's`);
      }
      if (deployLines !== 1) v(`${f.path} holds ${deployLines} deploy key lines; expected exactly one (without it the deploy locks itself out)`);
      for (const o of ops) {
        const fp = found.get(o.name);
        if (fp === undefined) v(`${f.path}: declared operator ${o.name} (${o.fingerprint}) is missing`);
        else if (fp !== o.fingerprint) v(`${f.path}: operator ${o.name}'s key is ${fp}, declared ${o.fingerprint}`);
      }
      for (const [name, fp] of found) if (!ops.some((o) => o.name === name)) v(`${f.path}: key ${fp} of operator ${name}, who is not declared on ${server}`);
    }
  }
  if (opts.complete) {
    for (const server of declared.keys()) {
      if (!pushedFor.has(server)) out.push({ ruleId: rule, severity: "mandatory", message: `${server}: declares operators but no push writes its keys file (${ACCESS_PATHS.keysDir}/<user>): sshd would still read ~/.ssh/authorized_keys`, bundle: "", servers: [server] });
    }
  }
  return out;
}

/** The rules of this module, shaped like access.ts's descriptor. */
export const PUSHED_RULE_DESCRIPTIONS: Readonly<Record<(typeof PUSHED_RULES)[keyof typeof PUSHED_RULES], string>> = Object.freeze({
  "pushed.authorized-keys":
    'Every authorized_keys line a push writes is restricted: `restrict`, `from="…"` and `command="rrsync -ro <dir>"`, nothing re-enabled (the checker of access.restricted-ssh, on the pushed line).',
  "pushed.timers":
    `Every dolibarr-backup timer a push writes starts at the planned times: dump timers at the instance's dumpTimes on its hosting server, replication timers at the planner's times for that backup server moved by one client offset 0..${MAX_MINUTE_OFFSET} min; templates start nothing, drop-ins set nothing but OnCalendar=.`,
  "pushed.replication-sources":
    "Every replication config a push writes makes a backup server of the instance pull from the instance's hosting server, as its own restricted user, and that link passes geo.min-distance and backup.not-hosting.",
  "pushed.operator-keys":
    "On a fleet declaring operators, every server's push of its deploy user's keys file (/etc/ssh/dolibarr-backup/authorized_keys/<user>) holds the deploy key once and exactly the operators its server declares, without options, and stages the sshd drop-in that makes sshd read only that file for that user.",
});
