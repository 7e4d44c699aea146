// The Instance of the typed topology, defined once as a zod schema: the TypeScript type is derived
// from it (types.ts re-exports it), and the policy pack validates the engine's plain JSON with it
// before trusting it. The config's own, looser shape (with defaults left out) is schema.ts's
// instanceSchema; parse.ts turns one into the other.
import { z } from "zod";

/** A time of day in minutes since midnight. */
const minuteOfDay = () => z.number().int().min(0).max(1439);

export const scheduleModelSchema = z.object({
  /** Dump start times, minutes since midnight, sorted. Default 00:00 and 12:00. */
  dumpTimes: z.array(minuteOfDay()),
  /** Days a dump is kept on the hosting server. Default 7. */
  retentionDays: z.number(),
  /** Replication runs a day on each backup server of the instance. Default 4. */
  replicationsPerDay: z.number(),
});

export const instanceModelSchema = z.object({
  /** Unique across the fleet; used in unit names, Unix paths and mirror paths. */
  name: z.string().min(1),
  client: z.string().min(1),
  hostingServer: z.string().min(1),
  database: z.object({ name: z.string() }),
  /** Dolibarr's htdocs directory (holds custom/ modules and conf/conf.php). */
  codeRoot: z.string(),
  documentsDir: z.string(),
  /** Where the dumps stay on the hosting server. Default /var/backups/dolibarr/<instance>. */
  dumpDir: z.string(),
  backupServers: z.array(z.string()),
  schedule: scheduleModelSchema,
  /** Dated hard-link snapshots of the mirror kept on each backup server (0 = mirror only). */
  snapshotsKeep: z.number(),
});

export type Schedule = z.infer<typeof scheduleModelSchema>;
export type Instance = z.infer<typeof instanceModelSchema>;
