/**
 * Stand-ins for the policy test runner (./policy-tests) and the audit replay (./replay) until they are
 * part of the plugin: each call fails with a message saying so. compose.ts imports
 * these names; switching to the real engines changes only its import lines (and removes this file).
 */
import type { PolicyTestReport, ReplayReport } from "./api.ts";

function unavailable(what: string): never {
  throw new Error(`${what} is not available in this build`);
}

export function runPolicyTests(): PolicyTestReport {
  return unavailable("the policy test runner");
}

export function replayAudit(): Promise<ReplayReport> {
  return Promise.reject(new Error("the audit replay is not available in this build"));
}

export function auditFilesOf(auditLog: string): string[] {
  return [auditLog];
}
