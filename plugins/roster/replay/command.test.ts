/** `roster-bot replay` in-process: the bot's own log with rotations, files given, --since, --limit, --json, exit codes. */
import { writeFileSync } from "node:fs";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EXIT_OK, EXIT_USAGE, main } from "../../../bots/cli.ts";
import { lines, tempDir, type TempDir } from "../../../test/helpers/tmp.ts";
import type { ReplayReport } from "../api.ts";

async function cli(...argv: string[]) {
  let out = "";
  let err = "";
  const code = await main(argv, { out: (s) => void (out += s), err: (s) => void (err += s) });
  return { code, out, err };
}

const decision = (time: string, from: string, action: string, decidedBy: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ time, bot: "main", kind: "decision", from, action, decidedBy, reason: "r", sent: [], ...extra }) + "\n";

describe("roster-bot replay", () => {
  let tmp: TempDir;
  let config: string;
  let dataDir: string;
  const recent = new Date(Date.now() - 3_600_000).toISOString(); // an hour ago
  const old = "2020-01-01T00:00:00.000Z";

  beforeAll(() => {
    tmp = tempDir("replay-cmd-");
    config = tmp.write(
      "bot.yaml",
      lines(
        "bots:",
        "  - id: main",
        "    jid: bot@example.org",
        "    password: ${REPLAY_TEST_PW}",
        "    dataDir: ./state",
        "    plugins:",
        "      roster:",
        "        subscriptions:",
        "          default: reject",
        "          rules:",
        "            - { name: partners, match: { domain: partner.example }, action: accept }",
      ),
    );
    dataDir = path.join(tmp.dir, "state");
    tmp.write("state/audit.log", decision(recent, "a@partner.example", "reject", "default") + decision(recent, "s@spam.example", "reject", "default"));
    tmp.write("state/audit.log.1", decision(old, "b@partner.example", "reject", "default") + "{not json\n");
    writeFileSync(path.join(dataDir, "audit.log.2.gz"), gzipSync(decision(old, "c@partner.example", "reject", "rules", { rule: "old" }) + decision(old, "p@x.example", "accept", "boss@example.org", { via: "approve" })));
    tmp.write("other.log", decision(recent, "d@partner.example", "ask", "default"));
  });
  afterAll(() => tmp.remove());

  it("replays the bot's audit log with its rotations by default and prints the changes", async () => {
    const r = await cli("replay", "--config", config);
    expect(r.err).toBe("");
    expect(r.code).toBe(EXIT_OK);
    expect(r.out).toContain(`audit logs, oldest first:\n  ${dataDir}/audit.log.2.gz\n  ${dataDir}/audit.log.1\n  ${dataDir}/audit.log\n`);
    expect(r.out).toContain("lines: 6 read, 1 malformed (skipped)\n");
    expect(r.out).toContain("decisions: 5; decided again with the rules: 4; would change: 3\n");
    expect(r.out).toMatch(/was \\ now\s+accept\s+reject\n\s+reject\s+3\s+1\n/);
    expect(r.out).toContain('rule "partners" now gives accept: 3 decisions (reject → 3), e.g. c@partner.example, b@partner.example, a@partner.example\n');
    expect(r.out).toContain("  by an admin: 1\n");
  });

  it("--json prints the report; --since leaves out older decisions; --limit bounds the contacts listed", async () => {
    const r = await cli("replay", "--config", config, "--json", "--since", "7d", "--limit", "1");
    expect(r.code).toBe(EXIT_OK);
    const report = JSON.parse(r.out) as ReplayReport;
    expect(report).toMatchObject({ lines: 6, malformed: 1, decisions: 2, replayed: 2, changed: 1, matrix: { reject: { accept: 1, reject: 1 } } });
    expect(Date.now() - Date.parse(report.since!)).toBeGreaterThanOrEqual(7 * 86_400_000);
    expect(report.flips).toEqual([{ rule: "partners", action: "accept", count: 1, from: { reject: 1 }, jids: ["a@partner.example"], more: false }]);
    const all = JSON.parse((await cli("replay", "--config", config, "--json", "--limit", "1")).out) as ReplayReport;
    expect(all.flips[0]).toMatchObject({ count: 3, jids: ["c@partner.example"], more: true });
  });

  it("reads the files given instead, in the order given", async () => {
    const r = await cli("replay", "--config", config, "--json", path.join(tmp.dir, "other.log"), path.join(dataDir, "audit.log.1"));
    expect(r.code).toBe(EXIT_OK);
    const report = JSON.parse(r.out) as ReplayReport;
    expect(report.files).toEqual([path.join(tmp.dir, "other.log"), path.join(dataDir, "audit.log.1")]);
    expect(report.matrix).toEqual({ ask: { accept: 1 }, reject: { accept: 1 } });
  });

  it.each([
    [["--since", "last tuesday"], '--since "last tuesday": expected a span back from now'],
    [["--limit", "ten"], '--limit "ten": expected a whole number'],
    [["missing.log"], "no such audit log: "],
  ])("%j exits 2 with a clear message", async (argv, message) => {
    const r = await cli("replay", "--config", config, ...argv);
    expect(r.code).toBe(EXIT_USAGE);
    expect(r.out).toBe("");
    expect(r.err).toContain(message);
  });

  it("a bot without an audit log yet exits 2 and says where it looked", async () => {
    const none = tmp.write("none.yaml", lines("bots:", "  - id: main", "    jid: bot@example.org", "    password: ${REPLAY_TEST_PW}", "    dataDir: ./empty", "    plugins:", "      roster: {}"));
    const r = await cli("replay", "--config", none);
    expect(r.code).toBe(EXIT_USAGE);
    expect(r.err).toContain(`no audit log at ${path.join(tmp.dir, "empty", "audit.log")}`);
  });
});
