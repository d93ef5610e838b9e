/** `roster-bot replay`: the audit log decided again with changed rules. */
export { auditFilesOf } from "./read-audit.ts";
export { replayAudit, DEFAULT_SAMPLE_SIZE, type ReplayOptions } from "./replay.ts";
export { formatReplayReport } from "./format.ts";
