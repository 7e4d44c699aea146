// What a client report may not show of a server's own words: its addresses and key files. A drill's
// message or checks come from the backup server ("connect to 127.0.0.1:3307 refused", "ssh -i
// /etc/dolibarr-backup/ssh/id_ed25519 …"); the report is handed to a client. Pure.

const IPV4 = /(?<![\w.])(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)(?::\d{1,5})?(?![\w.])/g;
// Hex groups and colons: an IPv6 address when it holds "::" or at least 5 colons (a time of day "12:00:00" has 2).
const IPV6_CANDIDATE = /(?<![\w:.])\[?(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?:%\w+)?\]?(?::\d{1,5})?(?![\w:])/g;
// A path to a private key: the project's ssh dir, or a file named like a key.
const KEY_PATH = /(?:\/[\w.@-]+)*\/(?:ssh\/[\w.@-]+|[\w.@-]*(?:id_(?:ed25519|rsa|ecdsa|dsa)|\.pem|\.key)\b[\w.-]*)/g;

/** `text` with IP addresses and key file paths replaced by neutral words. */
export function redactForClient(text: string): string {
  return text
    .replace(KEY_PATH, "[key file]")
    .replace(IPV4, "[address]")
    .replace(IPV6_CANDIDATE, (m) => (m.includes("::") || (m.match(/:/g) ?? []).length >= 5 ? "[address]" : m));
}
