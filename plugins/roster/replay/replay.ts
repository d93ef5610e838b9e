/**
 * Decides every recorded subscription request again with a (changed) config's rules, exactly as the
 * running bot would (the same compiled policy), and sums up what would change. Memory does not grow
 * with the log: counts, plus a bounded list of JIDs per flip group (groups are bounded by rules ×
 * actions).
 */
import { statSync } from "node:fs";
import type { ReplayFlipGroup, ReplayReport } from "../api.ts";
import type { RosterConfig } from "../config.ts";
import { JidError } from "../../../bots/jid.ts";
import { compilePolicy, type CompiledPolicy } from "../policy/compile.ts";
import { factsFor, type ContactFacts } from "../policy/facts.ts";
import type { SubscriptionAction } from "../policy/match-schema.ts";
import { atOrAfter, isRecordedDecision, sourceOf, type RecordedDecision } from "./classify.ts";
import { readAudit, type AuditRecord, type ReadCounts } from "./read-audit.ts";

export interface ReplayOptions {
  /** Audit files, oldest first (see auditFilesOf). */
  files: string[];
  /** The config whose rules and default decide again. */
  config: RosterConfig;
  /** Its folder (`list:` paths in rules are relative to it). */
  configDir: string;
  /** Only decisions at or after this time (files last written before it are not read). */
  since?: Date;
  /** Distinct JIDs listed per flip group (default 20). */
  sampleSize?: number;
}

export const DEFAULT_SAMPLE_SIZE = 20;

/** A flip group while it is being filled: its JIDs as a set (bounded by the sample size). */
interface FlipTally {
  rule: string | undefined;
  action: SubscriptionAction;
  count: number;
  from: Map<string, number>;
  jids: Set<string>;
  more: boolean;
}

/** The flip group key of the default's answer. */
const DEFAULT_KEY = Object.freeze({});

export async function replayAudit(options: ReplayOptions): Promise<ReplayReport> {
  const files = options.since ? writtenSince(options.files, options.since) : options.files;
  const replayer = new Replayer(options);
  const counts: ReadCounts = { lines: 0, malformed: 0 };
  await readAudit(files, counts, (record) => replayer.add(record, counts));
  return replayer.report(files, counts);
}

/**
 * The files last written at or after `since`: a line's time is taken before it is written, so a
 * file last modified earlier holds no line in range (`replay 7` need not read a year of rotations;
 * gzip keeps the mtime).
 */
function writtenSince(files: readonly string[], since: Date): string[] {
  return files.filter((file) => statSync(file).mtimeMs >= since.getTime());
}

/**
 * Whether the answer for facts without roster state depends on that state: explain() names every
 * roster rule tested before the deciding one (and the deciding one itself), a list that is
 * non-empty exactly when the deciding rule is at or after the first roster rule (or none decides).
 * O(1) per line instead of explain's walk over every rule; rule names are unique (the schema).
 */
function rosterDependence(policy: CompiledPolicy): (rule: string | undefined) => boolean {
  const firstNeedingRoster = policy.rules.findIndex((r) => r.needsRoster);
  if (firstNeedingRoster === -1) return () => false;
  const index = new Map(policy.rules.map((r, i) => [r.name, i]));
  return (rule) => rule === undefined || index.get(rule)! >= firstNeedingRoster;
}

class Replayer {
  private readonly policy: CompiledPolicy;
  private readonly defaultAction: SubscriptionAction;
  private readonly inRange: ((time: string) => boolean) | undefined;
  private readonly sampleSize: number;
  private readonly dependsOnRoster: (rule: string | undefined) => boolean;
  private decisions = 0;
  private replayed = 0;
  private changed = 0;
  private withoutRosterFacts = 0;
  private readonly apart = { plugin: 0, admin: 0, rateLimit: 0, other: 0 };
  private readonly matrix = new Map<string, Map<string, number>>();
  private readonly flips = new Map<object, FlipTally>();

  constructor(private readonly options: ReplayOptions) {
    // Compiled once: the same engine the running bot decides with.
    this.policy = compilePolicy(options.config.subscriptions.rules, { baseDir: options.configDir });
    this.defaultAction = options.config.subscriptions.default;
    this.inRange = options.since && atOrAfter(options.since);
    this.sampleSize = options.sampleSize ?? DEFAULT_SAMPLE_SIZE;
    this.dependsOnRoster = rosterDependence(this.policy);
  }

  add(record: AuditRecord, counts: ReadCounts): void {
    if (record.kind !== "decision") return; // roster, block, unblock, lost-lines and plugins' lines
    if (!isRecordedDecision(record)) {
      counts.malformed++;
      return;
    }
    const line = record;
    if (this.inRange && !this.inRange(line.time)) return;
    const source = sourceOf(line);
    if (source !== "replay") {
      this.decisions++;
      this.apart[source]++;
      return;
    }
    let facts: ContactFacts;
    try {
      facts = factsFor(line.from, line.roster);
    } catch (err) {
      if (!(err instanceof JidError)) throw err;
      counts.malformed++;
      return;
    }
    this.decisions++;
    this.redecide(line, facts);
  }

  private redecide(line: RecordedDecision, facts: ContactFacts): void {
    const decision = this.policy.decide(facts);
    const action = decision?.action ?? this.defaultAction;
    const rule = decision?.rule;
    this.replayed++;
    if (facts.roster === undefined && this.dependsOnRoster(rule)) this.withoutRosterFacts++;
    let row = this.matrix.get(line.action);
    if (row === undefined) this.matrix.set(line.action, (row = new Map<string, number>()));
    row.set(action, (row.get(action) ?? 0) + 1);
    if (action === line.action) return;
    this.changed++;
    // A rule always gives the same action, and decide() returns one frozen Decision per rule: it is the key.
    const key = decision ?? DEFAULT_KEY;
    let flip = this.flips.get(key);
    if (flip === undefined) this.flips.set(key, (flip = { rule, action, count: 0, from: new Map<string, number>(), jids: new Set<string>(), more: false }));
    flip.count++;
    flip.from.set(line.action, (flip.from.get(line.action) ?? 0) + 1);
    if (flip.jids.size < this.sampleSize) flip.jids.add(facts.jid);
    else if (!flip.more && !flip.jids.has(facts.jid)) flip.more = true;
  }

  report(files: string[], counts: ReadCounts): ReplayReport {
    const flips: ReplayFlipGroup[] = [...this.flips.values()]
      .map(({ rule, action, count, from, jids, more }) => ({ rule, action, count, from: Object.fromEntries(from), jids: [...jids], more }))
      .sort((a, b) => b.count - a.count || (a.rule ?? "").localeCompare(b.rule ?? "") || a.action.localeCompare(b.action));
    const matrix = Object.fromEntries([...this.matrix].map(([old, row]) => [old, Object.fromEntries(row)]));
    return {
      files,
      ...(this.options.since ? { since: this.options.since.toISOString() } : {}),
      lines: counts.lines,
      malformed: counts.malformed,
      decisions: this.decisions,
      replayed: this.replayed,
      changed: this.changed,
      matrix,
      flips,
      apart: { ...this.apart },
      withoutRosterFacts: this.withoutRosterFacts,
    };
  }
}
