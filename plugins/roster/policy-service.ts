/**
 * `roster.policy` for the running bot: the configured test cases and a replay of the bot's own audit
 * log, both against the config the bot runs now (swapped on hot reload), so they decide as it does.
 * The engines are handed in, so this part knows only their signatures.
 */
import type { PolicyApi, PolicyTestReport, ReplayReport } from "./api.ts";
import type { RosterConfig } from "./config.ts";

/** What the policy test runner and the audit replay offer (plugins/roster/policy-tests, plugins/roster/replay). */
export interface PolicyEngines {
  /** Runs the cases of `config.subscriptions.tests` (relative to `configDir`). Throws for a bad case file. */
  runTests(config: RosterConfig, configDir: string): PolicyTestReport;
  replay(options: { files: string[]; config: RosterConfig; configDir: string; since?: Date }): Promise<ReplayReport>;
  /** The audit log and its rotations that exist, oldest first. */
  auditFiles(auditLog: string): string[];
}

export interface PolicyPaths {
  /** The config file's directory: rule list files and case files are relative to it. */
  configDir: string;
  /** The bot's audit log (`audit.log` in its data directory). */
  auditLog: string;
}

export class PolicyService implements PolicyApi {
  constructor(
    private config: RosterConfig,
    private readonly paths: PolicyPaths,
    private readonly engines: PolicyEngines,
  ) {}

  /** A hot reload was applied: later calls use the new rules and cases. */
  reload(next: RosterConfig): void {
    this.config = next;
  }

  test(): Promise<PolicyTestReport> {
    const { config } = this;
    // No cases configured: nothing to read (the report says so by its empty file list).
    if (config.subscriptions.tests === undefined) return Promise.resolve({ files: [], total: 0, passed: 0, failed: [] });
    // The runner is synchronous; a bad case file it throws for becomes a rejection.
    return new Promise((resolve) => resolve(this.engines.runTests(config, this.paths.configDir)));
  }

  async replay(options: { since?: Date } = {}): Promise<ReplayReport> {
    const { config } = this;
    const files = this.engines.auditFiles(this.paths.auditLog);
    return this.engines.replay({ files, config, configDir: this.paths.configDir, ...(options.since ? { since: options.since } : {}) });
  }
}
