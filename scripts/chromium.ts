// Debian's headless Chromium: the PDF of a page this project writes, and the tests' look at one.
import { spawnSync, type SpawnSyncReturns } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

/** The Chromium command on PATH, or undefined. */
export function findChromium(): string | undefined {
  for (const c of ["chromium", "chromium-browser"]) if (spawnSync("bash", ["-c", `command -v ${c}`], { encoding: "utf8" }).status === 0) return c;
  return undefined;
}

/**
 * Opens the HTML file `page` in headless Chromium with `args` (--dump-dom, --screenshot=…,
 * --print-to-pdf=…), with a profile of its own in `profileDir` (a fresh temporary one, removed
 * after, when not given).
 */
export function runHeadless(chromium: string, page: string, args: readonly string[], profileDir?: string): SpawnSyncReturns<string> {
  const profile = profileDir ?? fs.mkdtempSync(path.join(os.tmpdir(), "dbk-chromium-"));
  try {
    return spawnSync(chromium, ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", `--user-data-dir=${profile}`, ...args, `file://${path.resolve(page)}`], { encoding: "utf8", timeout: 120_000 });
  } finally {
    if (!profileDir) fs.rmSync(profile, { recursive: true, force: true });
  }
}

/** Prints the HTML file `page` to `pdf` (A4, no header or footer); throws with Chromium's message. */
export function printToPdf(chromium: string, page: string, pdf: string): void {
  const r = runHeadless(chromium, page, ["--no-pdf-header-footer", `--print-to-pdf=${pdf}`]);
  if (r.status !== 0 || !fs.existsSync(pdf)) throw new Error(`${chromium} could not print ${page}: ${(r.stderr || r.error?.message || `exit ${r.status}`).trim().split("\n").slice(-3).join(" ")}`);
}
