// The result of one server's fact check and the error text helper, shared by facts.ts and the
// per-provider checks (ovh.ts, ionos.ts), which facts.ts imports: kept apart so that no import cycle
// runs between them.
import type { Server } from "../model/types";

export type FactStatus = "verified" | "mismatch" | "unchecked" | "error";

export interface FactCheck {
  server: string;
  provider: Server["provider"];
  status: FactStatus;
  /** Declared site id ("ovh:rbx"). */
  declared: string;
  /** What the provider reports (its own datacenter / location code), when it answered. */
  reported?: string;
  /** One line for the preview and for the error raised on a mismatch. */
  message: string;
  /** Why an unchecked server was not checked. */
  reason?: "no-reference" | "no-credentials";
}

export function errorText(err: unknown): string {
  if (err instanceof Error) return err.message;
  if (typeof err === "string") return err;
  try {
    return JSON.stringify(err);
  } catch {
    return String(err);
  }
}
