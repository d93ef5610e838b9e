import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { memoryLogger } from "../../../test/helpers/logger.ts";
import { tempDir, type TempDir } from "../../../test/helpers/tmp.ts";
import { OwnedBlocks } from "./owned-blocks.ts";

const dirs: TempDir[] = [];
const tmpDir = () => {
  const d = tempDir("blocks-");
  dirs.push(d);
  return d.dir;
};
afterEach(() => {
  for (const d of dirs.splice(0)) d.remove();
});

describe("OwnedBlocks (blocks.json)", () => {
  it("is on disk at once and read back by the next process", () => {
    const file = path.join(tmpDir(), "blocks.json");
    const { logger } = memoryLogger();
    const a = new OwnedBlocks(file, logger);
    a.add({ jid: "bücher.example", address: "xn--bcher-kva.example", by: "rules", rule: "flood", since: "2026-01-01T00:00:00.000Z", expires: "2026-01-08T00:00:00.000Z" });
    a.add({ jid: "x@b.test", by: "admin:op@a.test", since: "2026-01-01T00:00:00.000Z" });
    expect(JSON.parse(readFileSync(file, "utf8")).blocks).toHaveLength(2);
    const b = new OwnedBlocks(file, logger);
    expect(b.list()).toEqual(a.list());
    expect(b.nextExpiry()).toBe(Date.parse("2026-01-08T00:00:00.000Z"));
    expect(b.delete("x@b.test")).toBe(true);
    expect(b.delete("x@b.test")).toBe(false);
    expect(new OwnedBlocks(file, logger).list().map((e) => e.jid)).toEqual(["bücher.example"]);
  });

  it("nextExpiry is the earliest; none when no entry expires", () => {
    const { logger } = memoryLogger();
    const o = new OwnedBlocks(path.join(tmpDir(), "blocks.json"), logger);
    expect(o.nextExpiry()).toBeUndefined();
    o.add({ jid: "a@b.test", by: "rules", since: "2026-01-01T00:00:00Z" });
    expect(o.nextExpiry()).toBeUndefined();
    o.add({ jid: "b@b.test", by: "rules", since: "2026-01-01T00:00:00Z", expires: "2026-03-01T00:00:00Z" });
    o.add({ jid: "c@b.test", by: "rules", since: "2026-01-01T00:00:00Z", expires: "2026-02-01T00:00:00Z" });
    expect(o.nextExpiry()).toBe(Date.parse("2026-02-01T00:00:00Z"));
  });

  it("an unreadable file starts with none, and says so", () => {
    const file = path.join(tmpDir(), "blocks.json");
    writeFileSync(file, "{ not json");
    const { logger, logs } = memoryLogger();
    expect(new OwnedBlocks(file, logger).list()).toEqual([]);
    expect(logs.messages()).toContain("blocklist ownership file unreadable; starting with none");
  });
});
