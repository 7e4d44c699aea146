// Debian's headless Chromium, for the PDF of a page this project writes.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

/** The Chromium command on PATH, or undefined. */
export function findChromium(): string | undefined {
  for (const c of ["chromium", "chromium-browser"]) if (spawnSync("bash", ["-c", `command -v ${c}`], { encoding: "utf8" }).status === 0) return c;
  return undefined;
}

/** Prints the HTML file `page` to `pdf` (A4, no header or footer); throws with Chromium's message. */
export function printToPdf(chromium: string, page: string, pdf: string): void {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "dbk-chromium-"));
  try {
    const r = spawnSync(chromium, ["--headless", "--no-sandbox", "--disable-gpu", `--user-data-dir=${profile}`, "--no-pdf-header-footer", `--print-to-pdf=${pdf}`, `file://${path.resolve(page)}`], { encoding: "utf8", timeout: 120_000 });
    if (r.status !== 0 || !fs.existsSync(pdf)) throw new Error(`${chromium} could not print ${page}: ${(r.stderr || r.error?.message || `exit ${r.status}`).trim().split("\n").slice(-3).join(" ")}`);
  } finally {
    fs.rmSync(profile, { recursive: true, force: true });
  }
}
