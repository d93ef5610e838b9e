/** Replay of audit files: reading (rotations, gzip, malformed lines, since), classification, the matrix and flips. */
import { utimesSync, writeFileSync } from "node:fs";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { tempDir, type TempDir } from "../../../test/helpers/tmp.ts";
import { rosterConfigSchema, type RosterConfig } from "../config.ts";
import { compilePolicy } from "../policy/compile.ts";
import { factsFor } from "../policy/facts.ts";
import { auditFilesOf, formatReplayReport, replayAudit } from "./index.ts";

const T0 = "2026-11-01T10:00:00.000Z";

/** A decision audit line as the bot writes it. */
function decision(from: string, action: string, decidedBy: string, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ time: T0, bot: "main", kind: "decision", from, action, decidedBy, reason: "r", sent: [], ...extra });
}

const text = (...ls: string[]) => ls.join("\n") + "\n";

function config(subscriptions: unknown): RosterConfig {
  return rosterConfigSchema.parse({ cache: false, subscriptions });
}

/** New rules: partners are now accepted, strangers rejected, friends (roster group) accepted. */
const NEW_RULES = config({
  default: "reject",
  rules: [
    { name: "partners", match: { domain: "partner.example" }, action: "accept" },
    { name: "friends", match: { group: "Friends" }, action: "accept" },
  ],
});

describe("auditFilesOf", () => {
  let tmp: TempDir;
  beforeEach(() => (tmp = tempDir("replay-files-")));
  afterEach(() => tmp.remove());

  it("lists the rotations that exist, oldest (highest number) first, then the live log", () => {
    const log = path.join(tmp.dir, "audit.log");
    tmp.write("audit.log", "");
    tmp.write("audit.log.1", "");
    tmp.write("audit.log.2.gz", "");
    tmp.write("audit.log.3.gz", "");
    tmp.write("audit.log.5.gz", ""); // after a gap: logrotate numbers without gaps, so not one of them
    tmp.write("audit.log.old", "");
    expect(auditFilesOf(log)).toEqual([`${log}.3.gz`, `${log}.2.gz`, `${log}.1`, log]);
  });

  it("is empty when nothing was written yet, and has the rotations when the live log is gone", () => {
    const log = path.join(tmp.dir, "audit.log");
    expect(auditFilesOf(log)).toEqual([]);
    tmp.write("audit.log.1", "");
    expect(auditFilesOf(log)).toEqual([`${log}.1`]);
  });
});

describe("replayAudit", () => {
  let tmp: TempDir;
  beforeEach(() => (tmp = tempDir("replay-")));
  afterEach(() => tmp.remove());

  it("reads plain and gzipped rotations oldest first and decides each rules/default decision again", async () => {
    const log = tmp.write("audit.log", text(decision("c@partner.example", "reject", "default")));
    tmp.write("audit.log.1", text(decision("b@partner.example", "reject", "default")));
    writeFileSync(`${log}.2.gz`, gzipSync(text(decision("a@partner.example", "reject", "rules", { rule: "old" }), decision("x@stranger.example", "reject", "default"))));
    const files = auditFilesOf(log);
    const report = await replayAudit({ files, config: NEW_RULES, configDir: tmp.dir });
    expect(report).toEqual({
      files,
      lines: 4,
      malformed: 0,
      decisions: 4,
      replayed: 4,
      changed: 3,
      matrix: { reject: { accept: 3, reject: 1 } },
      flips: [{ rule: "partners", action: "accept", count: 3, from: { reject: 3 }, jids: ["a@partner.example", "b@partner.example", "c@partner.example"], more: false }],
      apart: { plugin: 0, admin: 0, rateLimit: 0, other: 0 },
      withoutRosterFacts: 1, // x@stranger: "friends" needs roster state, evaluated as not in the roster
    });
  });

  it("counts lines that are not JSON audit lines, and a truncated last line, as malformed and goes on", async () => {
    const log = tmp.write(
      "audit.log",
      [
        "not json",
        "[1,2]",
        '{"kind":5}',
        '"a string"',
        "",
        decision("a@partner.example", "reject", "default"),
        JSON.stringify({ time: T0, kind: "decision", from: "b@x.example", action: "accept" }), // no decidedBy
        decision("c@x.example", "accept", "rules", { time: "yesterday" }),
        decision("d@x.example", "accept", "rules", { roster: { groups: "Friends", subscription: "to" } }),
        decision("not a jid@", "accept", "rules"),
        decision("e@partner.example", "reject", "default").slice(0, 40), // cut off by a crash, no newline
      ].join("\n"),
    );
    const report = await replayAudit({ files: [log], config: NEW_RULES, configDir: tmp.dir });
    expect(report).toMatchObject({ lines: 10, malformed: 9, decisions: 1, replayed: 1, changed: 1 });
  });

  it("replays only decision lines; roster, block, lost-lines and plugins' lines are skipped without a count", async () => {
    const log = tmp.write(
      "audit.log",
      text(
        JSON.stringify({ time: T0, kind: "roster", op: "set", jid: "a@x.example", by: "sync", ok: true }),
        JSON.stringify({ time: T0, kind: "block", jid: "spam.example", by: "rules", result: "blocked" }),
        JSON.stringify({ time: T0, kind: "unblock", jid: "spam.example", by: "admin:boss@x.example", result: "unblocked" }),
        JSON.stringify({ time: T0, kind: "audit-lines-lost", lost: 3 }),
        JSON.stringify({ time: T0, from: "boss@x.example", kind: "admin-command", command: "pending" }),
        decision("a@partner.example", "accept", "rules", { rule: "partners" }),
      ),
    );
    const report = await replayAudit({ files: [log], config: NEW_RULES, configDir: tmp.dir });
    expect(report).toMatchObject({ lines: 6, malformed: 0, decisions: 1, replayed: 1, changed: 0, matrix: { accept: { accept: 1 } }, flips: [] });
  });

  it("keeps decisions made by a plugin, an admin, the rate limit and the rest apart, not replayed", async () => {
    const log = tmp.write(
      "audit.log",
      text(
        decision("a@partner.example", "reject", "blocklist"), // a plugin's tap
        decision("b@partner.example", "accept", "welcome-plugin", { via: "approve" }), // a plugin's API call
        decision("c@partner.example", "accept", "boss@x.example", { via: "approve" }), // the admin plugin: the admin's JID
        decision("d@partner.example", "reject", "admin", { via: "deny" }), // the API's default `by`
        decision("e@partner.example", "accept", "admin:boss@x.example", { via: "grant" }),
        decision("f@partner.example", "reject", "rate-limit"),
        decision("g@partner.example", "ask", "pending"),
        decision("h@partner.example", "accept", "already-subscribed"),
        decision("i@partner.example", "ask", "unreadable-item"),
      ),
    );
    const report = await replayAudit({ files: [log], config: NEW_RULES, configDir: tmp.dir });
    expect(report).toMatchObject({ decisions: 9, replayed: 0, changed: 0, matrix: {}, flips: [] });
    expect(report.apart).toEqual({ plugin: 2, admin: 3, rateLimit: 1, other: 3 });
  });

  it("with since, skips decisions recorded earlier (any ISO 8601 time), and reports since", async () => {
    const log = tmp.write(
      "audit.log",
      text(
        decision("a@partner.example", "reject", "default", { time: "2026-10-31T23:59:59.999Z" }),
        decision("b@partner.example", "reject", "default", { time: "2026-11-01T00:00:00.000Z" }),
        decision("c@partner.example", "reject", "default", { time: "2026-11-01T01:00:00+01:00" }), // = 00:00Z
        decision("d@partner.example", "reject", "rate-limit", { time: "2026-10-01T00:00:00.000Z" }),
        decision("e@partner.example", "reject", "default", { time: "2026-11-02" }),
      ),
    );
    const since = new Date("2026-11-01T00:00:00.000Z");
    const report = await replayAudit({ files: [log], config: NEW_RULES, configDir: tmp.dir, since });
    expect(report).toMatchObject({ since: "2026-11-01T00:00:00.000Z", lines: 5, malformed: 0, decisions: 3, replayed: 3 });
    expect(report.flips[0]!.jids).toEqual(["b@partner.example", "c@partner.example", "e@partner.example"]);
  });

  it("with since, does not read a file last written before it (no line in it can be in range)", async () => {
    const old = tmp.write("audit.log.1", text("not even json", decision("a@partner.example", "reject", "default", { time: "2026-10-01T00:00:00.000Z" })));
    utimesSync(old, new Date("2026-10-01T00:00:01Z"), new Date("2026-10-01T00:00:01Z"));
    const log = tmp.write("audit.log", text(decision("b@partner.example", "reject", "default", { time: "2026-11-02T00:00:00.000Z" })));
    const since = new Date("2026-11-01T00:00:00.000Z");
    const report = await replayAudit({ files: [old, log], config: NEW_RULES, configDir: tmp.dir, since });
    expect(report).toMatchObject({ files: [log], lines: 1, malformed: 0, decisions: 1 });
    const all = await replayAudit({ files: [old, log], config: NEW_RULES, configDir: tmp.dir });
    expect(all).toMatchObject({ files: [old, log], lines: 3, malformed: 1, decisions: 2 });
  });

  it("groups flips by the rule (or the default) that now decides and the new action, largest first, with counts by old action", async () => {
    const changed = config({ default: "ask", rules: [{ name: "partners", match: { domain: "partner.example" }, action: "accept" }] });
    const log = tmp.write(
      "audit.log",
      text(
        decision("a@partner.example", "reject", "default"),
        decision("b@partner.example", "ignore", "rules", { rule: "spam" }),
        decision("a@partner.example", "reject", "default"), // the same JID again: counted, listed once
        decision("x@else.example", "reject", "default"),
        decision("y@else.example", "ask", "default"),
        decision("z@partner.example", "accept", "rules", { rule: "partners" }),
      ),
    );
    const report = await replayAudit({ files: [log], config: changed, configDir: tmp.dir });
    expect(report.matrix).toEqual({ reject: { accept: 2, ask: 1 }, ignore: { accept: 1 }, ask: { ask: 1 }, accept: { accept: 1 } });
    expect(report).toMatchObject({ replayed: 6, changed: 4 });
    expect(report.flips).toEqual([
      { rule: "partners", action: "accept", count: 3, from: { reject: 2, ignore: 1 }, jids: ["a@partner.example", "b@partner.example"], more: false },
      { rule: undefined, action: "ask", count: 1, from: { reject: 1 }, jids: ["x@else.example"], more: false },
    ]);
    const text_ = formatReplayReport(report);
    expect(text_).toContain('rule "partners" now gives accept: 3 decisions (reject → 2, ignore → 1), e.g. a@partner.example, b@partner.example\n');
    expect(text_).toContain("the default now gives ask: 1 decision (reject → 1), e.g. x@else.example\n");
  });

  it("lists at most sampleSize distinct JIDs per flip group and says there are more", async () => {
    const many = Array.from({ length: 50 }, (_, i) => decision(`u${i}@partner.example`, "reject", "default"));
    const log = tmp.write("audit.log", text(...many, ...many));
    const report = await replayAudit({ files: [log], config: NEW_RULES, configDir: tmp.dir, sampleSize: 5 });
    expect(report.flips).toHaveLength(1);
    expect(report.flips[0]).toMatchObject({ count: 100, jids: ["u0@partner.example", "u1@partner.example", "u2@partner.example", "u3@partner.example", "u4@partner.example"], more: true });
    const exact = await replayAudit({ files: [log], config: NEW_RULES, configDir: tmp.dir, sampleSize: 50 });
    expect(exact.flips[0]).toMatchObject({ count: 100, more: false });
    expect(exact.flips[0]!.jids).toHaveLength(50);
    expect(formatReplayReport(report, { limit: 2 })).toContain("(reject → 100), e.g. u0@partner.example, u1@partner.example, and more\n");
  });

  it("decides with the roster state a line recorded, and counts lines without it whose answer depends on it", async () => {
    const log = tmp.write(
      "audit.log",
      text(
        decision("f@friends.example", "reject", "default", { roster: { groups: ["Friends"], subscription: "none" } }),
        decision("g@friends.example", "reject", "default", { roster: { groups: ["Other"], subscription: "to" } }),
        decision("h@friends.example", "reject", "default"), // no roster state: replayed as a stranger, counted
        decision("p@partner.example", "reject", "default"), // decided by "partners", before any roster rule
      ),
    );
    const report = await replayAudit({ files: [log], config: NEW_RULES, configDir: tmp.dir });
    expect(report.flips).toEqual([{ rule: "partners", action: "accept", count: 1, from: { reject: 1 }, jids: ["p@partner.example"], more: false }, { rule: "friends", action: "accept", count: 1, from: { reject: 1 }, jids: ["f@friends.example"], more: false }].sort((a, b) => a.rule.localeCompare(b.rule)));
    expect(report.matrix).toEqual({ reject: { accept: 2, reject: 2 } });
    expect(report.withoutRosterFacts).toBe(1);
    expect(formatReplayReport(report)).toContain('note: for 1 replayed decision the answer depends on roster state the line did not record');
  });

  it("counts roster dependence exactly as explain names it, for every rule position", async () => {
    const rules = config({
      default: "reject",
      rules: [
        { name: "a", match: { domain: "a.example" }, action: "accept" },
        { name: "c-strangers", match: { all: [{ domain: "c.example" }, { inRoster: false }] }, action: "ask" },
        { name: "friends", match: { group: "Friends" }, action: "accept" },
        { name: "b", match: { domain: "b.example" }, action: "accept" },
      ],
    });
    const jids = ["x@a.example", "x@b.example", "x@c.example", "x@d.example"];
    const log = tmp.write("audit.log", text(...jids.map((j) => decision(j, "reject", "default"))));
    const report = await replayAudit({ files: [log], config: rules, configDir: tmp.dir });
    const policy = compilePolicy(rules.subscriptions.rules, { baseDir: tmp.dir });
    const byExplain = jids.filter((j) => policy.explain(factsFor(j)).needsRoster.length > 0);
    expect(byExplain).toEqual(["x@b.example", "x@c.example", "x@d.example"]);
    expect(report.withoutRosterFacts).toBe(byExplain.length);
  });

  it("an unreadable gzip file is an error naming the file", async () => {
    const bad = tmp.write("audit.log.2.gz", "this is not gzip");
    await expect(replayAudit({ files: [bad], config: NEW_RULES, configDir: tmp.dir })).rejects.toThrow(`${bad}: `);
  });
});
