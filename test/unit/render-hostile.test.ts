// The renderers are the last step before a server, for every caller (the program, the failover, the
// lab): whatever the config check let through or a caller built by hand, a path or value that is not
// safe where it goes (a shell command, a systemd unit, an env file, known_hosts) is refused with an
// error naming the field and the value, and nothing is rendered. Generated hostile values: command
// substitution, backticks, newlines, quotes, NUL, spaces, globs, systemd specifiers, '..'.
// The rule is the model's (infra/model/safe.ts), the one the config check applies.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { SAFE_PATH_RE } from "../../infra/model/safe";
import type { Fleet, Instance, Topology } from "../../infra/model/types";
import { renderBackupInstance, renderHostingInstance, renderServerBase } from "../../infra/render";
import { sampleFleet, sampleInstance, samplePlan, sampleTopology } from "../support/jobs-topology";

/** Pieces that make a value unsafe somewhere it is written. */
const HOSTILE = [
  "$(id)", "`id`", "${HOME}", "$x", "\n", "\r", "\0", "'", '"', " ", "\t", ";", "|", "&", "<", ">", "*", "?", "[", "]",
  "{", "}", "~", "#", "%i", "!", "\\", "=", ":", ",", "..", "/../", "//", "é",
];

/** A safe path with a hostile piece inserted somewhere (start, middle, end). */
const hostilePath = fc
  .record({
    base: fc.constantFrom("/var/www/acme/htdocs", "/srv/mirrors", "/var/lib/dolibarr/acme/documents", "/opt/x"),
    piece: fc.constantFrom(...HOSTILE),
    at: fc.nat(),
  })
  .map(({ base, piece, at }) => {
    const i = at % (base.length + 1);
    return base.slice(0, i) + piece + base.slice(i);
  })
  .filter((p) => !SAFE_PATH_RE.test(p));

/** A hostile path or the piece alone (relative, empty-ish). */
const hostileValue = fc.oneof(hostilePath, fc.constantFrom(...HOSTILE), fc.constantFrom("", "/", "var/www", "/srv/", "/srv/./x"));

interface Field {
  name: string;
  render: (value: string) => unknown;
}

const topology = (): Topology => sampleTopology();
const inst = (overrides: Partial<Instance>): Instance => sampleInstance("acme-erp", overrides);
const withFleet = (f: Partial<Fleet>): Topology => ({ ...topology(), fleet: { ...sampleFleet(), ...f } });
const web1 = () => sampleFleet().servers.find((s) => s.name === "web1")!;
const bkFra = () => sampleFleet().servers.find((s) => s.name === "bk-fra")!;

/** Every value a renderer writes that comes from a config, and the renderer that writes it. */
const PATH_FIELDS: Field[] = [
  { name: "codeRoot", render: (v) => renderHostingInstance(topology(), inst({ codeRoot: v })) },
  { name: "documentsDir", render: (v) => renderHostingInstance(topology(), inst({ documentsDir: v })) },
  { name: "dumpDir", render: (v) => renderHostingInstance(topology(), inst({ dumpDir: v })) },
  { name: "codeRoot", render: (v) => renderBackupInstance(topology(), inst({ codeRoot: v }), samplePlan()) },
  { name: "mirrorRoot", render: (v) => renderBackupInstance(withFleet({ mirrorRoot: v }), inst({}), samplePlan()) },
  { name: "mirrorRoot", render: (v) => renderServerBase({ ...sampleFleet(), mirrorRoot: v }, bkFra()) },
  { name: "metrics.textfileDir", render: (v) => renderServerBase({ ...sampleFleet(), metrics: { textfileDir: v } }, web1()) },
  { name: "notifications.email.sendmail", render: (v) => renderServerBase({ ...sampleFleet(), notifications: { email: { to: ["ops@example.com"], sendmail: v, events: "failures" }, timeoutSeconds: 10, logLines: 20 } }, web1()) },
];

const VALUE_FIELDS: Field[] = [
  { name: "client", render: (v) => renderHostingInstance(topology(), inst({ client: v })) },
  { name: "database name", render: (v) => renderHostingInstance(topology(), inst({ database: { name: v } })) },
  { name: "fleet stack", render: (v) => renderServerBase({ ...sampleFleet(), stack: v }, bkFra()) },
  {
    name: "ssh.host",
    render: (v) => {
      const fleet = sampleFleet();
      fleet.servers = fleet.servers.map((s) => (s.name === "web1" ? { ...s, ssh: { ...s.ssh, host: v } } : s));
      return renderBackupInstance({ ...topology(), fleet }, inst({}), samplePlan());
    },
  },
  {
    name: "host key",
    render: (v) => {
      const fleet = sampleFleet();
      fleet.servers = fleet.servers.map((s) => (s.name === "web1" ? { ...s, ssh: { ...s.ssh, hostKey: `ssh-ed25519 AAAA${v}B` } } : s));
      return renderServerBase(fleet, bkFra());
    },
  },
];

describe("renderers refuse what is not safe where it goes", () => {
  it("the safe values of every field render (the baseline of the cases below)", () => {
    for (const f of PATH_FIELDS) assert.doesNotThrow(() => f.render("/srv/dolibarr/acme-1"), f.name);
  });

  for (const f of PATH_FIELDS) {
    it(`${f.name}: a hostile path is refused, naming the field and the value (generated)`, () => {
      fc.assert(
        fc.property(hostileValue, (v) => {
          assert.throws(
            () => f.render(v),
            (e: Error) => e.message.includes(f.name) && e.message.includes(JSON.stringify(v)) && /cannot be written into a shell command, a systemd unit or an env file: expected an absolute Unix path/.test(e.message),
          );
        }),
        { numRuns: 150 },
      );
    });
  }

  for (const f of VALUE_FIELDS) {
    it(`${f.name}: a value with shell, unit or line syntax is refused (generated)`, () => {
      fc.assert(
        fc.property(
          fc.record({ piece: fc.constantFrom(...HOSTILE.filter((p) => !(f.name === "ssh.host" && p === ":") && !(f.name === "fleet stack" && p === "..") && !(f.name === "host key" && /^\s$/.test(p)))), at: fc.nat() }).map(({ piece, at }) => {
            const base = "acme";
            const i = at % (base.length + 1);
            return base.slice(0, i) + piece + base.slice(i);
          }),
          (v) => {
            // a host key piece that stays base64 (e.g. '=' at the end) is not hostile
            fc.pre(!(f.name === "host key" && /^[A-Za-z0-9+/=]*$/.test(v)));
            assert.throws(() => f.render(v), (e: Error) => e.message.includes(f.name) || e.message.includes("host key"));
          },
        ),
        { numRuns: 150 },
      );
    });
  }
});
