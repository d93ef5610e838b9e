import { readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { tempDir, type TempDir } from "../../test/helpers/tmp.ts";
import { AuditLog } from "./audit.ts";

describe("AuditLog", () => {
  let tmp: TempDir;
  beforeEach(() => (tmp = tempDir("audit-")));
  afterEach(() => tmp.remove());

  const decision = (i: number) => ({ kind: "decision" as const, from: `u${i}@x.test`, action: "ignore", decidedBy: "rate-limit", reason: "r", sent: [] });
  const lines = (file: string) => readFileSync(file, "utf8").trimEnd().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);

  it("appends one JSON line per call, in order, across batches and after a reopen", async () => {
    const file = path.join(tmp.dir, "data", "audit.log");
    const errors: Error[] = [];
    const first = new AuditLog(file, "bot-1", (e) => errors.push(e));
    for (let i = 0; i < 5_000; i++) first.write(decision(i));
    await new Promise((r) => setImmediate(r));
    first.write({ kind: "admin", from: "boss@x.test", command: "stats" });
    first.close();
    const second = new AuditLog(file, "bot-1", (e) => errors.push(e));
    second.write(decision(5_000));
    second.close();

    const got = lines(file);
    expect(got).toHaveLength(5_002);
    expect(got.slice(0, 5_000).map((l) => l.from)).toEqual(Array.from({ length: 5_000 }, (_, i) => `u${i}@x.test`));
    expect(got[5_000]).toMatchObject({ bot: "bot-1", kind: "admin", command: "stats" });
    expect(got[5_001]).toMatchObject({ kind: "decision", from: "u5000@x.test", sent: [] });
    expect(got.every((l) => typeof l.time === "string" && !Number.isNaN(Date.parse(l.time)))).toBe(true);
    expect(errors).toEqual([]);
  });

  it("reports a failing disk instead of throwing, and writes again once it can", async () => {
    const blocker = path.join(tmp.dir, "not-a-dir");
    writeFileSync(blocker, "");
    const errors: Error[] = [];
    const log = new AuditLog(path.join(blocker, "audit.log"), "bot-1", (e) => errors.push(e));
    log.write(decision(1)); // the folder cannot be created: a file is in the way
    await new Promise((r) => setImmediate(r));
    expect(errors.map((e) => (e as NodeJS.ErrnoException).code)).toEqual(["EEXIST"]);
    rmSync(blocker);
    log.write(decision(2));
    log.close();
    expect(lines(path.join(blocker, "audit.log")).map((l) => l.from)).toEqual(["u2@x.test"]);
    expect(errors).toHaveLength(1);
  });
});
