// Who logs in as a server's ssh.user (the deploy user): a root-owned keys file under /etc/ssh with
// the fleet's deploy key and the declared operators' keys, and an sshd drop-in that makes sshd read
// only that file for that user (a key dropped into ~/.ssh/authorized_keys is ignored). Rendered
// only when the fleet declares `operators` (model/operators.ts). Pure.
//
// OpenSSH (Debian 12: 9.2) reads /etc/ssh/sshd_config.d/*.conf first (its sshd_config starts with
// the Include) and keeps the first value obtained for each keyword, a Match block's values
// overriding the global ones for the connections it matches; a Match block in an included file
// ends with that file. So `Match User <user>` + AuthorizedKeysFile in an early drop-in wins over
// any AuthorizedKeysFile of the main file, global or in its own Match blocks. The deploy's create
// line checks that with `sshd -T` on the server itself before it reloads sshd.
import { accessManaged, operatorsOn } from "../model/operators";
import { STACK_RE } from "../model/schema";
import { OPERATOR_KEY_TYPES, parsePublicKey, publicKeyProblem } from "../model/ssh-keys";
import type { Fleet, Server } from "../model/types";
import { type ServerBundle, script, shq } from "./files";

/** The deploy key's types: anything ssh-keygen makes (the fleet's own key). */
const DEPLOY_KEY_TYPES = [...OPERATOR_KEY_TYPES, "ssh-dss"];

export const ACCESS_PATHS = {
  /** Root-owned, 0755: everything below is root's. */
  dir: "/etc/ssh/dolibarr-backup",
  /** <dir>/authorized_keys/<user>: what sshd reads for the deploy user (AuthorizedKeysFile …/%u). */
  keysDir: "/etc/ssh/dolibarr-backup/authorized_keys",
  /** The deploy key alone: the create line refuses a keys file without it. */
  deployKey: "/etc/ssh/dolibarr-backup/deploy.pub",
  /** The drop-in as pushed; installed into sshd_config.d only once `sshd -t` accepts it. */
  stagedDropIn: "/etc/ssh/dolibarr-backup/sshd_config.conf",
  /** Early in lexical order: first value wins in sshd. */
  dropIn: "/etc/ssh/sshd_config.d/10-dolibarr-backup.conf",
  sshd: "/usr/sbin/sshd",
} as const;

export const ACCESS_KEYS_PATTERN = `${ACCESS_PATHS.keysDir}/%u`;

export function accessKeysPath(user: string): string {
  return `${ACCESS_PATHS.keysDir}/${user}`;
}

/** The comment of the deploy key's line (status and the rule tell it from an operator's by it). */
export function deployKeyComment(fleetStack: string): string {
  return `dolibarr-backup deploy ${fleetStack}`;
}

export const OPERATOR_COMMENT_PREFIX = "operator:";

const USER_RE = /^[a-z_][a-z0-9_-]{0,31}$/;

/** The sshd drop-in for `user`: only the root-owned keys file, no AuthorizedKeysCommand. */
export function renderSshdDropIn(user: string): string {
  if (!USER_RE.test(user)) throw new Error(`ssh user ${JSON.stringify(user)} cannot be written into sshd_config`);
  return [
    `# Rendered by dolibarr-backup: for ${user}, sshd reads only the root-owned ${ACCESS_KEYS_PATTERN}`,
    "# (the deploy key and the declared operators); keys in ~/.ssh/authorized_keys are ignored.",
    `Match User ${user}`,
    `\tAuthorizedKeysFile ${ACCESS_KEYS_PATTERN}`,
    "\tAuthorizedKeysCommand none",
    "",
  ].join("\n");
}

/** The keys file of `server`'s ssh.user: the deploy key, then each operator whose key opens it. */
export function renderAccessKeys(fleet: Fleet, server: Server, deployPublicKey: string): string {
  if (!STACK_RE.test(fleet.stack)) throw new Error(`fleet stack ${JSON.stringify(fleet.stack)} cannot be written into a keys file`);
  const problem = publicKeyProblem(deployPublicKey, DEPLOY_KEY_TYPES);
  if (problem) throw new Error(`the fleet's deploy public key: ${problem}`);
  const deploy = parsePublicKey(deployPublicKey, DEPLOY_KEY_TYPES);
  const lines = [
    `# Rendered by dolibarr-backup (fleet ${fleet.stack}): the keys sshd accepts for ${server.ssh.user} on ${server.name}.`,
    `# Any other key, here or in ~/.ssh, is reported by npm run status. Change it in the fleet's operators.`,
    `${deploy.type} ${deploy.blob} ${deployKeyComment(fleet.stack)}`,
  ];
  for (const o of operatorsOn(fleet, server)) {
    const k = parsePublicKey(o.publicKey);
    if (k.blob === deploy.blob) throw new Error(`operator ${o.name}'s key is the fleet's deploy key; expected a key of the operator's own`);
    lines.push(`${k.type} ${k.blob} ${OPERATOR_COMMENT_PREFIX}${o.name}`);
  }
  return lines.join("\n") + "\n";
}

/** The reload of sshd: systemd's ssh.service (sshd.service elsewhere), else a HUP to the daemon. */
const RELOAD_SSHD =
  'if [ -d /run/systemd/system ]; then systemctl reload ssh.service 2>/dev/null || systemctl reload sshd.service; elif [ -s /run/sshd.pid ]; then kill -HUP "$(cat /run/sshd.pid)"; fi';

/**
 * Fleet stack, every active server when the fleet declares operators: the keys file, the deploy
 * key alone, the staged drop-in; `create` checks the deploy key is in the keys file, installs the
 * drop-in, keeps it only if `sshd -t` accepts the config and `sshd -T` says the user's keys file is
 * the rendered one (else puts the former drop-in back and fails), then reloads sshd. `delete`
 * removes the drop-in (sshd reads ~/.ssh/authorized_keys again) and reloads sshd.
 */
export function renderServerAccess(fleet: Fleet, server: Server, deployPublicKey: string): ServerBundle {
  if (!accessManaged(fleet)) throw new Error(`fleet ${fleet.stack} declares no operators: SSH access is not managed`);
  const user = server.ssh.user;
  const dropIn = renderSshdDropIn(user);
  const keysFile = accessKeysPath(user);
  const keys = renderAccessKeys(fleet, server, deployPublicKey);
  const deploy = parsePublicKey(deployPublicKey, DEPLOY_KEY_TYPES);
  const P = ACCESS_PATHS;
  const fail = (msg: string, detail?: string) =>
    `{ dbk_ak_revert; echo ${shq(`ERROR: ${msg}; sshd left as it was`)} >&2;${detail ? ` printf '%s\\n' "$${detail}" >&2;` : ""} exit 1; }`;
  return {
    files: [
      { path: keysFile, content: keys, mode: "0644" },
      { path: P.deployKey, content: `${deploy.type} ${deploy.blob} ${deployKeyComment(fleet.stack)}\n`, mode: "0644" },
      { path: P.stagedDropIn, content: dropIn, mode: "0644" },
    ],
    create: script([
      `chown root:root ${P.dir} ${P.keysDir} ${keysFile} ${P.deployKey} ${P.stagedDropIn} && chmod 0755 ${P.dir} ${P.keysDir} && chmod 0644 ${keysFile} ${P.deployKey} ${P.stagedDropIn}`,
      `dbk_ak_old=$(mktemp) && dbk_ak_had=0 && if [ -f ${P.dropIn} ]; then cp -p ${P.dropIn} "$dbk_ak_old" && dbk_ak_had=1; fi`,
      `dbk_ak_revert() { if [ "$dbk_ak_had" = 1 ]; then cp -p "$dbk_ak_old" ${P.dropIn}; else rm -f ${P.dropIn}; fi; rm -f "$dbk_ak_old"; }`,
      // Never a keys file without the deploy key: the next deploy would be locked out.
      `dbk_ak_key=$(cut -d' ' -f1,2 < ${P.deployKey})`,
      `if [ -z "$dbk_ak_key" ] || ! grep -qF -- "$dbk_ak_key " ${keysFile}; then ${fail(`the deploy key is not in ${keysFile}`)}; fi`,
      `[ -d /etc/ssh/sshd_config.d ] || ${fail("no /etc/ssh/sshd_config.d (Debian's sshd_config includes /etc/ssh/sshd_config.d/*.conf first)")}`,
      `install -m 0644 -o root -g root ${P.stagedDropIn} ${P.dropIn}`,
      `dbk_ak_err=$(${P.sshd} -t 2>&1) || ${fail("sshd -t refuses the config with the drop-in", "dbk_ak_err")}`,
      // sshd's own view for the deploy user: the rendered keys file and no keys command.
      `dbk_ak_eff=$(${P.sshd} -T -C user=${user},host=localhost,addr=127.0.0.1 2>&1) || ${fail("sshd -T cannot evaluate the config", "dbk_ak_eff")}`,
      `printf '%s\\n' "$dbk_ak_eff" | grep -qix -- ${shq(`authorizedkeysfile ${ACCESS_KEYS_PATTERN}`)} || ${fail(`sshd would not read ${ACCESS_KEYS_PATTERN} for ${user} (is /etc/ssh/sshd_config.d/*.conf included first, before any AuthorizedKeysFile for ${user}?)`)}`,
      `printf '%s\\n' "$dbk_ak_eff" | grep -qix -- 'authorizedkeyscommand none' || ${fail(`sshd would still run an AuthorizedKeysCommand for ${user}`)}`,
      `rm -f "$dbk_ak_old"`,
      RELOAD_SSHD,
    ]),
    delete: script([
      // The keys file goes only once sshd runs without the drop-in: a running sshd still reading it
      // (config refused by sshd -t, reload failed) would then let nobody in as the deploy user.
      `if [ -f ${P.dropIn} ]; then`,
      `  dbk_ak_old=$(mktemp) && cp -p ${P.dropIn} "$dbk_ak_old" && rm -f ${P.dropIn}`,
      `  if ${P.sshd} -t && { ${RELOAD_SSHD}; }; then rm -f "$dbk_ak_old"; else cp -p "$dbk_ak_old" ${P.dropIn}; rm -f "$dbk_ak_old"; echo ${shq("ERROR: sshd does not take its config without the drop-in (sshd -t or the reload failed): drop-in put back, keys kept")} >&2; exit 1; fi`,
      `fi`,
      `rm -f -- ${keysFile} ${P.deployKey} ${P.stagedDropIn}`,
      `rmdir ${P.keysDir} ${P.dir} 2>/dev/null || true`,
    ]),
  };
}
