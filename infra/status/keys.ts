// The SSH keys found on a server against the ones declared for it (the deploy key and the fleet's
// operators): every key line of the files sshd reads for the deploy user, and of the
// ~/.ssh/authorized_keys{,2} of root and of the deploy user (ignored by sshd once the drop-in is in
// force, still worth reporting: they come back if it goes). Pure.
import { fingerprintOfBlob } from "../model/ssh-keys";
import { keyLinesOf } from "../rules/pushed";

/** One authorized keys file as the status collector read it. */
export interface FoundKeysFile {
  path: string;
  /** True: sshd reads it for the deploy user (its AuthorizedKeysFile), or for `loginAs`; false: a ~/.ssh file it ignores. */
  readBySshd: boolean;
  /** Read by sshd for another user than the deploy user: root's own files, when the deploy user is not root and root may log in. */
  loginAs?: string;
  /** The file's text; absent when it exists but could not be read. */
  content?: string;
}

/** A key the server may accept that the fleet declares (deploy key, operator). */
export interface DeclaredKey {
  fingerprint: string;
  /** "deploy" or "operator:<name>". */
  who: string;
}

export interface StrayKey {
  /** "SHA256:…" as ssh-keygen -l prints it. */
  fingerprint: string;
  type: string;
  /** The line's comment (what the key calls itself: not trusted, shown for the audit). */
  comment: string;
  /** Its authorized_keys options (restrict, from=…), when any. */
  options: string[];
  path: string;
  line: number;
  readBySshd: boolean;
  loginAs?: string;
}

export interface KeysJudgement {
  stray: StrayKey[];
  /** Lines that are no key sshd would read, and files that could not be read. */
  problems: { path: string; readBySshd: boolean; message: string }[];
}

/**
 * The keys found in `files` whose fingerprint is not one of `declared`, each with where it was
 * found (a key in two files is reported twice: removing it from one leaves the other). Comments
 * and blank lines are skipped; a line that is no key is a problem, not a key.
 */
export function strayKeys(declared: readonly DeclaredKey[], files: readonly FoundKeysFile[]): KeysJudgement {
  const known = new Set(declared.map((d) => d.fingerprint));
  const stray: StrayKey[] = [];
  const problems: KeysJudgement["problems"] = [];
  const seen = new Set<string>();
  for (const f of files) {
    // the same path twice (sshd's and the home list): read once, as sshd reads it when it does
    if (seen.has(f.path)) continue;
    seen.add(f.path);
    if (f.content === undefined) {
      problems.push({ path: f.path, readBySshd: f.readBySshd, message: `${f.path} exists but could not be read: its keys are not checked` });
      continue;
    }
    for (const { n, parsed, error } of keyLinesOf(f.content)) {
      if (!parsed) {
        problems.push({ path: f.path, readBySshd: f.readBySshd, message: `${f.path} line ${n + 1} is not a key line (${error})` });
        continue;
      }
      const fingerprint = fingerprintOfBlob(parsed.key);
      if (known.has(fingerprint)) continue;
      stray.push({ fingerprint, type: parsed.keyType, comment: parsed.comment, options: parsed.options, path: f.path, line: n + 1, readBySshd: f.readBySshd, ...(f.loginAs ? { loginAs: f.loginAs } : {}) });
    }
  }
  return { stray, problems };
}

/** The status's words for one stray key. */
export function describeStray(k: StrayKey): string {
  const what = `undeclared SSH key ${k.fingerprint} (${k.type}${k.comment ? ` "${k.comment.slice(0, 60)}"` : ""}${k.options.length ? `, options ${k.options.join(",").slice(0, 80)}` : ""}) in ${k.path} line ${k.line}`;
  return k.readBySshd ? `${what}: sshd accepts it for ${k.loginAs ?? "the deploy user"}` : `${what}: ignored by sshd while the drop-in is in force, accepted again if it goes`;
}
