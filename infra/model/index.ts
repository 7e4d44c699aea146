// The model's public API, in one import: types, site catalogue, geography, defaults, config parsing
// (from pulumi.Config values or from stack files), topology building, replication planning.
export * from "./types";
export * from "./sites";
export * from "./geo";
export * from "./time";
export * from "./defaults";
export * from "./binlog";
export * from "./drills";
export * from "./notifications";
export * from "./errors";
export { parseFleetConfig, parseClientConfig, fleetFromValues, clientFromValues, type ConfigValues } from "./parse";
export { buildTopology, topologyFrom } from "./topology";
export {
  readStackFile,
  parseStackFileText,
  loadStackFiles,
  loadStacksDir,
  listStackFiles,
  stackNameOf,
  type StackFile,
  type LoadedStacks,
} from "./load";
export {
  planReplications,
  planInstance,
  shiftPlans,
  computeRpo,
  worstCaseRpo,
  rpoMinutes,
  evenRuns,
  stableHash,
  replicationSpread,
  dumpQueues,
  dumpCounts,
  otherDumpsAt,
  dumpCompletionMinutes,
  queueOverflows,
  backupLoad,
  type BackupLoad,
  type QueueOverflow,
  type PlanOptions,
  type Rpo,
} from "./schedule";
