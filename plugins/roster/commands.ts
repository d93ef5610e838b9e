/** The roster plugin's CLI commands: `explain`, `test` and `replay` (offline), `plan` and `sync` (connected, invisible). */
import { existsSync } from "node:fs";
import path from "node:path";
import { formatIssues } from "../../bots/config/source.ts";
import { EXIT_OK, EXIT_RUNTIME, EXIT_USAGE } from "../../bots/exit-codes.ts";
import { JidError } from "../../bots/jid.ts";
import { UsageError, type CommandDefinition, type ConnectedBot } from "../../bots/plugin.ts";
import type { RosterService } from "./api.ts";
import { auditLogPath } from "./audit.ts";
import type { RosterConfig } from "./config.ts";
import { explainOffline, formatExplanation } from "./explain.ts";
import { withoutAutoSync } from "./group-sync/config.ts";
import { blockTarget } from "./blocking/target.ts";
import { formatPlan, formatResult, planJson, resultJson } from "./group-sync/format.ts";
import { formatPolicyTestReport, PolicyTestFileError, runPolicyTests } from "./policy-tests/index.ts";
import { auditFilesOf, DEFAULT_SAMPLE_SIZE, formatReplayReport, replayAudit } from "./replay/index.ts";
import { parseSince } from "./replay/since.ts";

/** How long `plan` and `sync` wait for the roster after connecting. */
const ROSTER_WAIT_MS = 60_000;

const json = { type: "boolean", description: "machine-readable output" } as const;

const explain: CommandDefinition<RosterConfig> = {
  name: "explain",
  usage: "JID",
  summary: "offline: which action the subscription rules give JID, and why",
  description:
    "Rules that depend on live roster state are evaluated as \"not in the roster\" and named; plugin taps\n" +
    "and rate limits are not consulted. JID is shown in the normal form the rules see (domain in\n" +
    "Unicode), and as given when that differs. A rule with `block` also names the blocklist entry it adds (without\n" +
    "XEP-0191 on the server it only rejects). --json prints { jid, input?, action, decidedBy, rule, reason, needsRoster, block }\n" +
    "(block: { entry, scope, forMs } or null).",
  options: { json },
  args: { min: 1, max: 1 },
  async run(cmd) {
    const target = await cmd.target();
    const jid = cmd.args[0]!;
    let result;
    try {
      result = explainOffline(target.config, target.configDir, jid);
    } catch (err) {
      if (err instanceof JidError) throw new UsageError(`"${jid}" is not a valid JID: ${err.message}`);
      throw err;
    }
    if (cmd.options.json) {
      const { jid: j, input, action, decidedBy, rule, reason, needsRoster, block } = result;
      const blockJson = block ? { entry: blockTarget(j, block.scope).jid, scope: block.scope, forMs: block.forMs ?? null } : null;
      cmd.out(JSON.stringify({ jid: j, ...(input !== undefined ? { input } : {}), action, decidedBy, rule: rule ?? null, reason, needsRoster, block: blockJson }) + "\n");
    } else {
      cmd.out(formatExplanation(result));
    }
    return EXIT_OK;
  },
};

const test: CommandDefinition<RosterConfig> = {
  name: "test",
  usage: "[CASES…]",
  summary: "offline: run the policy test cases (subscription rules, group sync); exit 1 when one fails",
  description:
    "CASES are YAML case files (relative to the working directory); without them, those of subscriptions.tests\n" +
    "(relative to the config file). Each case gives a JID, optional roster facts and what must come out: the\n" +
    "action (expect), the deciding rule (rule, \"default\" for none), its block (none, bare, domain) and the groups\n" +
    "group sync leaves. Every failing case is printed with the explanation of `explain`. Exit 0: all passed,\n" +
    "1: a case failed, 2: a bad or missing case file, or no case file at all. --json prints\n" +
    "{ files, total, passed, failed: [{ at, name, jid, mismatches, explanation, groups? }] }.",
  options: { json },
  args: { min: 0, max: Number.POSITIVE_INFINITY },
  async run(cmd) {
    const target = await cmd.target();
    const files = cmd.args.length ? [...cmd.args] : undefined;
    if (!files && target.config.subscriptions.tests === undefined) {
      throw new UsageError(`no policy test cases: name case files (roster-bot test FILE…) or set subscriptions.tests in ${cmd.configFile}`);
    }
    let report;
    try {
      report = runPolicyTests(target.config, target.configDir, files);
    } catch (err) {
      if (!(err instanceof PolicyTestFileError)) throw err;
      cmd.err(`${formatIssues(err.issues)}\n${err.issues.length} problem(s) in the policy test cases\n`);
      return EXIT_USAGE;
    }
    if (report.total === 0) {
      cmd.err(`roster-bot: no policy test cases in ${report.files.join(", ")}\n`);
      return EXIT_USAGE;
    }
    cmd.out(cmd.options.json ? JSON.stringify(report) + "\n" : formatPolicyTestReport(report));
    return report.failed.length ? EXIT_RUNTIME : EXIT_OK;
  },
};

const replay: CommandDefinition<RosterConfig> = {
  name: "replay",
  usage: "[AUDIT_LOG…]",
  summary: "offline: decide the audit log's recorded requests again with the config's rules; print what would change",
  description:
    "Reads the bot's audit.log and its logrotate rotations (audit.log.1, audit.log.2.gz, …; oldest first), or the\n" +
    "AUDIT_LOG files given, a line at a time. Decisions the rules or the default made are decided again with the\n" +
    "rules and default of --config; the report counts old action -> new action and lists the contacts whose\n" +
    "answer would change, grouped by the rule (or the default) that now decides. Decisions of a plugin, an admin\n" +
    "or the rate limit are counted apart: the rules alone cannot say what those would do. Lines that are not\n" +
    "audit lines are counted and skipped; with --since, files last written before WHEN are not read. Exit 0 when\n" +
    "the report was made, whatever it says.\n" +
    "--json prints { files, since?, lines, malformed, decisions, replayed, changed, matrix, flips, apart, withoutRosterFacts }.",
  options: {
    since: { type: "string", value: "WHEN", description: 'only decisions since WHEN: a span back from now ("7d", "12h") or an ISO 8601 date or time ("2026-11-01", UTC; a time without a zone is local)' },
    limit: { type: "string", value: "N", description: `contacts listed per group of changes (default ${DEFAULT_SAMPLE_SIZE})` },
    json,
  },
  args: { min: 0, max: Infinity },
  async run(cmd) {
    const since = optionalSince(cmd.options.since);
    const limit = optionalLimit(cmd.options.limit);
    const target = await cmd.target();
    const files = cmd.args.length ? givenAuditFiles(cmd.args) : botAuditFiles(target.bot.dataDir);
    const report = await replayAudit({ files, config: target.config, configDir: target.configDir, ...(since ? { since } : {}), sampleSize: limit ?? DEFAULT_SAMPLE_SIZE });
    cmd.out(cmd.options.json ? JSON.stringify(report) + "\n" : formatReplayReport(report, { limit }));
    return EXIT_OK;
  },
};

function optionalSince(value: string | boolean | undefined): Date | undefined {
  if (typeof value !== "string") return undefined;
  const since = parseSince(value);
  if (!since) throw new UsageError(`--since "${value}": expected a span back from now such as "7d" or "12h", or an ISO 8601 date or time such as "2026-11-01"`);
  return since;
}

function optionalLimit(value: string | boolean | undefined): number | undefined {
  if (typeof value !== "string") return undefined;
  if (!/^\d+$/.test(value) || Number(value) > 1_000_000) throw new UsageError(`--limit "${value}": expected a whole number of contacts (0 to 1000000)`);
  return Number(value);
}

function givenAuditFiles(args: readonly string[]): string[] {
  const files = args.map((a) => path.resolve(a));
  const missing = files.filter((f) => !existsSync(f));
  if (missing.length) throw new UsageError(`no such audit log: ${missing.join(", ")}`);
  return files;
}

/** The bot's audit.log (compose.ts) and its rotations; none at all is a usage error, not an empty report. */
function botAuditFiles(botDataDir: string): string[] {
  const log = auditLogPath(botDataDir);
  const files = auditFilesOf(log);
  if (!files.length) throw new UsageError(`no audit log at ${log} (nor rotations of it): the bot has not written one yet; name the files as AUDIT_LOG…`);
  return files;
}

const plan: CommandDefinition<RosterConfig> = {
  name: "plan",
  summary: "connect invisibly, print what group sync and the blocklist would change and the held requests; changes nothing",
  description:
    "Only the roster plugin is started, so no other plugin acts; expired blocks are not lifted. --json prints\n" +
    "{ changes, heldBack, skipped, pending, blocklist } (blocklist: { supported, lift, forget }).",
  options: { json },
  async run(cmd) {
    const target = await cmd.target({ secrets: true });
    return withLoadedRoster(await target.connect({ config: withoutAutoSync(target.config) }), target.bot.jid, cmd.err, (roster) => {
      const result = roster.groups.plan();
      const pending = roster.subscriptions.pending();
      // Known by now: connecting waits for every session-start step, the blocklist fetch included.
      const blocklist = roster.blocking.plan();
      cmd.out(cmd.options.json ? JSON.stringify(planJson(result, pending, blocklist)) + "\n" : formatPlan(result, pending, blocklist));
      return EXIT_OK;
    });
  },
};

const sync: CommandDefinition<RosterConfig> = {
  name: "sync",
  summary: "connect, apply group sync once and exit (for cron); exit 1 when any change failed",
  description: "Every plugin of the bot is started, so that their beforeGroupSync / afterGroupSync taps take part.",
  options: { json },
  async run(cmd) {
    const target = await cmd.target({ secrets: true });
    const bot = await target.connect({ plugins: "all", config: withoutAutoSync(target.config) });
    return withLoadedRoster(bot, target.bot.jid, cmd.err, async (roster) => {
      let result;
      try {
        result = await roster.groups.sync("manual");
      } catch (err) {
        cmd.err(`roster-bot: group sync aborted, nothing applied: ${(err as Error).message}\n`);
        return EXIT_RUNTIME;
      }
      cmd.out(cmd.options.json ? JSON.stringify(resultJson(result)) + "\n" : formatResult(result));
      return result.failed.length > 0 ? EXIT_RUNTIME : EXIT_OK;
    });
  },
};

/** Waits for the roster to load (group sync's automatic triggers are off), runs `fn`, disconnects. */
async function withLoadedRoster(bot: ConnectedBot, jid: string, err: (s: string) => void, fn: (roster: RosterService) => number | Promise<number>): Promise<number> {
  try {
    const roster = bot.use("roster");
    let timer: NodeJS.Timeout | undefined;
    const loaded = await Promise.race([
      roster.whenLoaded().then(() => true),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ROSTER_WAIT_MS))),
    ]);
    clearTimeout(timer);
    if (!loaded) {
      err(`roster-bot: the roster of ${jid} did not load within ${ROSTER_WAIT_MS / 1000} s\n`);
      return EXIT_RUNTIME;
    }
    return await fn(roster);
  } finally {
    await bot.stop();
  }
}

export const rosterCommands = [explain, test, replay, plan, sync];
