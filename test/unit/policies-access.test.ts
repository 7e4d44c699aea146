// The restricted-SSH rule (infra/rules/access.ts) on its own: what counts as a key that can only
// read one instance's files with rsync.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  accessProblems,
  accessRestrictedSsh,
  checkRestrictedSsh,
  isReadOnlyRrsync,
  parseKeyOption,
  RULE_ID,
  type InstanceAccess,
} from "../../infra/rules/access";

const GOOD = ["restrict", 'from="203.0.113.2"', 'command="rrsync -ro /var/lib/dolibarr-backup/acme-erp"'];

describe("key options", () => {
  test("parseKeyOption: lower-cased name, unquoted value", () => {
    assert.deepEqual(parseKeyOption("restrict"), { name: "restrict" });
    assert.deepEqual(parseKeyOption('FROM="10.0.0.1,10.0.0.2"'), { name: "from", value: "10.0.0.1,10.0.0.2" });
    assert.deepEqual(parseKeyOption('command="rrsync -ro /a=b"'), { name: "command", value: "rrsync -ro /a=b" });
  });

  test("isReadOnlyRrsync accepts rrsync -ro with any path to rrsync, and only that", () => {
    for (const ok of ["rrsync -ro /srv/x", "/usr/bin/rrsync -ro /srv/x", "rrsync -no-del -ro /srv/x", "rrsync -ro"]) assert.ok(isReadOnlyRrsync(ok), ok);
    for (const bad of ["rrsync /srv/x", "rrsync -wo /srv/x", "rsync --server -ro", "myrrsync -ro /x", "rrsync -rox /x", "sh -c 'rrsync -ro /x'x", ""]) {
      assert.ok(!isReadOnlyRrsync(bad), bad);
    }
  });

  test("accessProblems: nothing for the restricted line, one problem per missing piece", () => {
    assert.deepEqual(accessProblems(GOOD), []);
    assert.deepEqual(accessProblems(GOOD.map((o) => o.toUpperCase().replace("RRSYNC -RO", "rrsync -ro"))), []);
    assert.deepEqual(accessProblems([]), [
      "no `restrict` option",
      'no `from="<backup server address>"` option',
      'no `command="rrsync -ro <dir>"` option',
    ]);
    assert.deepEqual(accessProblems(["restrict", 'from=""', GOOD[2]!]), ['no `from="<backup server address>"` option']);
    assert.deepEqual(accessProblems([...GOOD, 'command="rrsync -ro /"']), ["several `command=` options"]);
    assert.deepEqual(accessProblems([...GOOD, "port-forwarding", "agent-forwarding"]), [
      "re-enables `port-forwarding`, `agent-forwarding` after restrict",
    ]);
    assert.deepEqual(accessProblems(["restrict=yes", GOOD[1]!, GOOD[2]!]), ["no `restrict` option"]);
  });
});

describe("checkRestrictedSsh", () => {
  const base: InstanceAccess = {
    client: "acme",
    instance: "acme-erp",
    hostingServer: "web-1",
    backupServers: ["bk-1", "bk-2"],
    access: [
      { backupServer: "bk-1", user: "bk-acme-erp", keyOptions: GOOD },
      { backupServer: "bk-2", user: "bk-acme-erp", keyOptions: GOOD },
    ],
    file: "stacks/Pulumi.client-acme.yaml",
  };

  test("no violation when every link is restricted", () => {
    assert.deepEqual(checkRestrictedSsh([base]), []);
    assert.deepEqual(accessRestrictedSsh.check([base]), []);
  });

  test("violations carry the rule id, severity, client, instance, both servers and file", () => {
    const [v, ...rest] = checkRestrictedSsh([{ ...base, access: base.access.slice(0, 1) }]);
    assert.equal(rest.length, 0);
    assert.deepEqual(
      { ...v!, message: undefined },
      { ruleId: RULE_ID, severity: "mandatory", message: undefined, client: "acme", instance: "acme-erp", servers: ["web-1", "bk-2"], file: "stacks/Pulumi.client-acme.yaml" },
    );
    assert.match(v!.message, /no SSH access declared for backup server bk-2 on hosting server web-1/);
  });

  test("a backup server listed twice needs one declaration; two declarations are both checked", () => {
    const twice = { ...base, access: [...base.access, { backupServer: "bk-1", user: "other", keyOptions: ["restrict"] }] };
    const vs = checkRestrictedSsh([twice]);
    assert.equal(vs.length, 1);
    assert.match(vs[0]!.message, /for user other .* not restricted/);
  });

  test("an instance without backup servers and without access has nothing to check", () => {
    assert.deepEqual(checkRestrictedSsh([{ ...base, backupServers: [], access: [] }]), []);
  });

  test("the descriptor is shaped like the rules of infra/rules", () => {
    assert.equal(accessRestrictedSsh.id, "access.restricted-ssh");
    assert.equal(accessRestrictedSsh.defaultSeverity, "mandatory");
    assert.ok(accessRestrictedSsh.description.includes("rrsync -ro"));
  });
});
