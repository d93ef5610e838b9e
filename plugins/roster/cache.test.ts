/** RosterCache: the on-disk roster cache (round trip, coalescing, discarding bad caches, atomic writes). */
import { existsSync, mkdirSync, promises as fsp, readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { memoryLogger } from "../../test/helpers/logger.ts";
import { tempDir, type TempDir } from "../../test/helpers/tmp.ts";
import type { RosterItem } from "./item.ts";
import { RosterCache, type RosterSnapshot } from "./cache.ts";

const ACCOUNT = "bot@a.test";

const items: RosterItem[] = [
  { jid: "alice@b.test", name: "Alice", groups: ["Friends", "Work"], subscription: "both", approved: false },
  { jid: "bob@c.test", groups: [], subscription: "none", ask: "subscribe", approved: true },
  { jid: "😀@c.test", name: "Émoji \u00e9", groups: ["Ünïcode"], subscription: "from", approved: false },
];

let tmp: TempDir;
let file: string;

beforeEach(() => {
  tmp = tempDir("roster-cache-");
  file = path.join(tmp.dir, "plugins", "roster", "roster.json");
});
afterEach(() => {
  vi.restoreAllMocks();
  tmp.remove();
});

/** A RosterCache whose load() gives items as a list, as they were saved. */
class ListCache extends RosterCache {
  loadList(): RosterSnapshot | undefined {
    const loaded = this.load();
    return loaded && { ver: loaded.ver, items: [...loaded.items.values()] };
  }
}

function cache(account = ACCOUNT, delayMs = 20) {
  const { logger, logs } = memoryLogger();
  return { cache: new ListCache(file, account, logger, delayMs), logs };
}

async function save(s: RosterCache, snapshot: RosterSnapshot): Promise<void> {
  s.scheduleSave(() => snapshot);
  await s.flush();
}

const warnings = (logs: ReturnType<typeof memoryLogger>["logs"]) => logs.lines.filter((l) => l.level === 40);

describe("round trip", () => {
  it("saves and loads items and version (creating the folder)", async () => {
    const { cache: s } = cache();
    await save(s, { ver: "17", items });
    const { cache: again, logs } = cache();
    const loaded = again.loadList();
    expect(loaded).toEqual({ ver: "17", items });
    expect(warnings(logs)).toEqual([]);
    // Loaded items are frozen like parsed ones.
    expect(Object.isFrozen(loaded!.items[0])).toBe(true);
    expect(Object.isFrozen(loaded!.items[0]!.groups)).toBe(true);
    // Optional fields stay absent rather than becoming undefined keys.
    expect("name" in loaded!.items[1]!).toBe(false);
    expect("ask" in loaded!.items[0]!).toBe(false);
  });

  it("keeps the items the bot cannot read exactly; a cache without them loads none", async () => {
    const unreadable = [
      { raw: "Mixed@b.test", canonical: "mixed@b.test", reason: "not in canonical form (mixed@b.test)" },
      { raw: "a b@c.test", canonical: undefined, reason: "roster item with invalid jid" },
    ];
    const { cache: s } = cache();
    await save(s, { ver: "3", items, unreadable });
    expect(cache().cache.load()?.unreadable).toEqual(unreadable);
    await save(s, { ver: "4", items });
    expect(JSON.parse(readFileSync(file, "utf8"))).not.toHaveProperty("unreadable");
    expect(cache().cache.load()?.unreadable).toEqual([]);
    writeFileSync(file, JSON.stringify({ format: 2, account: ACCOUNT, groups: [], items: [], unreadable: [["x", 1, "r"]] }));
    const { cache: bad, logs } = cache();
    expect(bad.load()).toBeUndefined();
    expect(warnings(logs)[0]?.err).toMatch(/unreadable\[0\]/);
  });

  it("keeps the A-label spellings the server holds items in; a spelling of no item, or not an A-label one, makes the cache corrupt", async () => {
    const idna: RosterItem = { jid: "a@bücher.test", groups: [], subscription: "both", approved: false };
    const spellings = new Map([["a@bücher.test", "a@xn--bcher-kva.test"]]);
    const { cache: s } = cache();
    await save(s, { ver: "3", items: [...items, idna], spellings });
    expect(cache().cache.load()?.spellings).toEqual(spellings);
    await save(s, { ver: "4", items: [...items, idna] });
    expect(JSON.parse(readFileSync(file, "utf8"))).not.toHaveProperty("spellings");
    expect(cache().cache.load()?.spellings).toEqual(new Map());
    for (const entry of [["alice@b.test", "a@xn--bcher-kva.test"], ["a@bücher.test", "A@xn--bcher-kva.test"], ["a@bücher.test"]]) {
      writeFileSync(file, JSON.stringify({ format: 2, account: ACCOUNT, groups: [[]], items: [["a@bücher.test", null, 0, "both", 0]], spellings: [entry] }));
      const { cache: bad, logs } = cache();
      expect(bad.load()).toBeUndefined();
      expect(warnings(logs)[0]?.err).toMatch(/spellings\[0\]/);
    }
  });

  it("saves a roster without a version", async () => {
    const { cache: s } = cache();
    await save(s, { ver: undefined, items: [] });
    expect(cache().cache.loadList()).toEqual({ ver: undefined, items: [] });
  });

  it("a missing cache is undefined without a warning", () => {
    const { cache: s, logs } = cache();
    expect(s.load()).toBeUndefined();
    expect(logs.lines).toEqual([]);
  });

  it("round-trips 10,000 items, each distinct group list stored once and shared again when loaded", async () => {
    const many = Array.from({ length: 10_000 }, (_, i): RosterItem => ({ jid: `c${i}@b.test`, groups: i % 3 ? [`g${i % 7}`] : [`g${i % 7}`, "x"], subscription: "both", approved: false }));
    const { cache: s } = cache();
    await save(s, { ver: "big", items: many });
    expect((JSON.parse(readFileSync(file, "utf8")) as { groups: unknown[] }).groups).toHaveLength(14);
    const loaded = cache().cache.loadList()!.items;
    expect(loaded).toEqual(many);
    expect(loaded[7]!.groups).toBe(loaded[14]!.groups); // both ["g0"]
  });

  it("keeps every field: names, ask, approved, each subscription, Unicode", async () => {
    const all = (["none", "to", "from", "both"] as const).flatMap((subscription, i) => [
      { jid: `n${i}@b.test`, name: `Näme ${i} 😀`, groups: ["b", "Ä"], subscription, ask: "subscribe" as const, approved: true },
      { jid: `m${i}@b.test`, groups: [], subscription, approved: false },
    ]);
    const { cache: s } = cache();
    await save(s, { ver: "v", items: all });
    expect(cache().cache.loadList()).toEqual({ ver: "v", items: all });
  });
});

describe("coalesced writes", () => {
  it("several saves in a burst make one write of the latest state", async () => {
    const rename = vi.spyOn(fsp, "rename");
    const { cache: s } = cache(ACCOUNT, 30);
    const calls: string[] = [];
    for (const ver of ["1", "2", "3"]) {
      s.scheduleSave(() => {
        calls.push(ver);
        return { ver, items: items.slice(0, Number(ver)) };
      });
    }
    expect(existsSync(file)).toBe(false); // nothing written synchronously
    await vi.waitFor(() => expect(rename).toHaveBeenCalledTimes(1), { timeout: 2_000 });
    await s.flush();
    expect(calls).toEqual(["3"]);
    expect(rename).toHaveBeenCalledTimes(1);
    expect(cache().cache.loadList()).toEqual({ ver: "3", items });
  });

  it("after a slow write, the next one waits ten times as long (a busy sync is not held up by its cache)", async () => {
    const realRename = fsp.rename.bind(fsp);
    const rename = vi.spyOn(fsp, "rename").mockImplementation(async (from, to) => {
      await new Promise((r) => setTimeout(r, 60)); // a write that takes 60 ms
      return realRename(from, to);
    });
    const { cache: s } = cache(ACCOUNT, 10);
    await save(s, { ver: "1", items });
    s.scheduleSave(() => ({ ver: "2", items }));
    await new Promise((r) => setTimeout(r, 300));
    expect(rename).toHaveBeenCalledTimes(1); // not yet: due about 600 ms after the first ended
    await vi.waitFor(() => expect(rename).toHaveBeenCalledTimes(2), { timeout: 2_000 });
    await s.flush();
    expect(cache().cache.loadList()?.ver).toBe("2");
  });

  it("the snapshot is taken at write time, not when scheduled", async () => {
    const { cache: s } = cache(ACCOUNT, 10);
    let ver = "early";
    s.scheduleSave(() => ({ ver, items: [] }));
    ver = "late";
    await s.flush();
    expect(cache().cache.loadList()?.ver).toBe("late");
  });

  it("flush writes at once and waits; a flush with nothing pending writes nothing", async () => {
    const rename = vi.spyOn(fsp, "rename");
    const { cache: s } = cache(ACCOUNT, 60_000);
    s.scheduleSave(() => ({ ver: "now", items }));
    await s.flush();
    expect(cache().cache.loadList()?.ver).toBe("now");
    await s.flush();
    expect(rename).toHaveBeenCalledTimes(1);
  });

  it("a save scheduled during a write is written after it, in order", async () => {
    const { cache: s } = cache(ACCOUNT, 1);
    s.scheduleSave(() => ({ ver: "a", items: [] }));
    const first = s.flush();
    s.scheduleSave(() => ({ ver: "b", items }));
    const second = s.flush();
    await Promise.all([first, second]);
    expect(cache().cache.loadList()).toEqual({ ver: "b", items });
  });
});

describe("discarded caches", () => {
  it("corrupt JSON: undefined, with a warning", () => {
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, '{"format":1,"account":"bot@a.test","ver":"7","items":[{"jid":');
    const { cache: s, logs } = cache();
    expect(s.load()).toBeUndefined();
    const w = warnings(logs);
    expect(w).toHaveLength(1);
    expect(w[0]).toMatchObject({ file, msg: expect.stringContaining("roster cache corrupt") });
  });

  it("an empty file: undefined, with a warning", () => {
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, "");
    const { cache: s, logs } = cache();
    expect(s.load()).toBeUndefined();
    expect(warnings(logs)).toHaveLength(1);
  });

  it("another format version (an older roster-bot's cache): undefined, with an info line rather than a warning", () => {
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, JSON.stringify({ format: 1, account: ACCOUNT, ver: "1", items: [] }));
    const { cache: s, logs } = cache();
    expect(s.load()).toBeUndefined();
    expect(warnings(logs)).toEqual([]);
    expect(logs.lines.find((l) => l.level === 30)).toMatchObject({ msg: expect.stringContaining("another roster-bot version"), reason: expect.stringContaining("format 1") });
  });

  it("a cache with A-label keys (written before domains were kept in U-labels): undefined, with an info line", () => {
    mkdirSync(path.dirname(file), { recursive: true });
    const items = [["a@b.test", null, 0, "both", 0], ["a@xn--bcher-kva.test", null, 0, "both", 0]];
    writeFileSync(file, JSON.stringify({ format: 2, account: ACCOUNT, ver: "1", groups: [[]], items }));
    const { cache: s, logs } = cache();
    expect(s.load()).toBeUndefined();
    expect(warnings(logs)).toEqual([]);
    expect(logs.lines.find((l) => l.level === 30)).toMatchObject({ reason: "items[1]: a@xn--bcher-kva.test has its domain in A-labels (xn--)" });
  });

  it("a wrong shape (bad subscription, flags or group index, duplicates, unsorted groups, not an object): undefined, with a warning naming the fault", () => {
    mkdirSync(path.dirname(file), { recursive: true });
    const good = { format: 2, account: ACCOUNT, ver: "1", groups: [[], ["A", "B"]] };
    for (const [content, fault] of [
      [{ ...good, items: [["a@b.test", null, 0, "remove", 0]] }, "items[0]: unknown subscription"],
      [{ ...good, items: [["a@b.test"]] }, "items[0] is not a 5-field item"],
      [{ ...good, items: [["a@b.test", null, 2, "both", 0]] }, "items[0]: groups index out of range"],
      [{ ...good, items: [["a@b.test", null, 0.5, "both", 0]] }, "items[0]: groups index out of range"],
      [{ ...good, items: [["a@b.test", null, 0, "both", 4]] }, "items[0]: bad flags"],
      [{ ...good, items: [["a@b.test", 7, 0, "both", 0]] }, "items[0]: name is not a string"],
      [{ ...good, items: [["", null, 0, "both", 0]] }, "items[0]: jid is not a string"],
      [{ ...good, items: [["a@b.test", null, 0, "both", 0], ["a@b.test", null, 1, "to", 0]] }, "items[1]: a@b.test appears twice"],
      [{ ...good, groups: [["B", "A"]], items: [] }, "groups[0] is not sorted and unique"],
      [{ ...good, groups: [["A", "A"]], items: [] }, "groups[0] is not sorted and unique"],
      [{ ...good, groups: [[" "]], items: [] }, "groups[0][0] is not a group name"],
      [{ ...good, groups: "A", items: [] }, "groups is not a list"],
      [{ ...good, ver: 3, items: [] }, "ver is not a string"],
      [{ format: 2, account: ACCOUNT }, "groups is not a list"],
      [[1, 2, 3], "not a JSON object"],
      ["roster", "not a JSON object"],
      [null, "not a JSON object"],
    ] as const) {
      writeFileSync(file, JSON.stringify(content));
      const { cache: s, logs } = cache();
      expect(s.load()).toBeUndefined();
      const w = warnings(logs);
      expect(w).toHaveLength(1);
      expect(w[0]!.err).toBe(fault);
    }
  });

  it("another account's cache: undefined, with a warning naming it", async () => {
    const { cache: other } = cache("someone@b.test");
    await save(other, { ver: "9", items });
    const { cache: s, logs } = cache();
    expect(s.load()).toBeUndefined();
    const w = warnings(logs);
    expect(w).toHaveLength(1);
    expect(String(w[0]!.err)).toContain("someone@b.test");
  });

  it("an unreadable cache (a folder at its path): undefined, with a warning", () => {
    mkdirSync(file, { recursive: true });
    const { cache: s, logs } = cache();
    expect(s.load()).toBeUndefined();
    expect(warnings(logs)[0]?.msg).toContain("roster cache unreadable");
  });

  it("a discarded cache is replaced by the next save", async () => {
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, "garbage");
    const { cache: s } = cache();
    expect(s.load()).toBeUndefined();
    await save(s, { ver: "1", items });
    expect(cache().cache.loadList()).toEqual({ ver: "1", items });
  });
});

describe("atomic writes", () => {
  const siblings = () => readdirSync(path.dirname(file)).sort();

  it("leaves no temp file behind", async () => {
    const { cache: s } = cache();
    await save(s, { ver: "1", items });
    await save(s, { ver: "2", items: [] });
    expect(siblings()).toEqual(["roster.json"]);
  });

  it("a stray temp file from a writer that crashed mid-write is never read, and the real file stays whole", async () => {
    const { cache: s } = cache();
    await save(s, { ver: "1", items });
    const whole = readFileSync(file, "utf8");
    // A previous process died after writing half of its temp file, before the rename.
    const stray = `${file}.99999.tmp`;
    writeFileSync(stray, whole.slice(0, Math.floor(whole.length / 2)));
    const { cache: after, logs } = cache();
    expect(after.loadList()).toEqual({ ver: "1", items });
    expect(warnings(logs)).toEqual([]);
    expect(readFileSync(file, "utf8")).toBe(whole);
    expect(siblings()).toEqual(["roster.json"]); // loading removed the stale temp file
    // The next save replaces the real file completely and leaves its own temp file nowhere.
    await save(after, { ver: "2", items: items.slice(0, 1) });
    expect(JSON.parse(readFileSync(file, "utf8"))).toMatchObject({ ver: "2" });
    expect(siblings()).toEqual(["roster.json"]);
  });

  it("a stray temp file with this process's own temp name is overwritten, not appended to", async () => {
    mkdirSync(path.dirname(file), { recursive: true });
    const own = `${file}.${process.pid}.tmp`;
    writeFileSync(own, '{"format":1,"account":"bot@a.test","ver":"half","items":[{"jid":"x'.repeat(50));
    const { cache: s } = cache();
    expect(s.load()).toBeUndefined(); // only the real path is read
    await save(s, { ver: "3", items });
    expect(cache().cache.loadList()).toEqual({ ver: "3", items });
    expect(siblings()).toEqual(["roster.json"]);
  });

  it("a write that fails before the rename keeps the previous file whole and removes the temp file", async () => {
    const { cache: s, logs } = cache();
    await save(s, { ver: "1", items });
    const whole = readFileSync(file, "utf8");
    vi.spyOn(fsp, "rename").mockRejectedValueOnce(Object.assign(new Error("EIO: simulated crash"), { code: "EIO" }));
    await save(s, { ver: "2", items: [] });
    expect(readFileSync(file, "utf8")).toBe(whole);
    expect(siblings()).toEqual(["roster.json"]);
    expect(logs.find((l) => l.level === 50 && l.msg === "roster cache not saved")).toMatchObject({ err: expect.stringContaining("simulated crash") });
    // The cache keeps working afterwards.
    await save(s, { ver: "3", items: [] });
    expect(cache().cache.loadList()).toEqual({ ver: "3", items: [] });
  });

  it("at no moment during a save does the real path hold a partial file", async () => {
    const { cache: s } = cache();
    await save(s, { ver: "1", items });
    const big = Array.from({ length: 20_000 }, (_, i): RosterItem => ({ jid: `c${i}@b.test`, groups: ["G"], subscription: "both", approved: false }));
    const seen: string[] = [];
    let done = false;
    const watcher = (async () => {
      while (!done) {
        seen.push(readFileSync(file, "utf8"));
        await new Promise((r) => setImmediate(r));
      }
    })();
    await save(s, { ver: "2", items: big });
    done = true;
    await watcher;
    seen.push(readFileSync(file, "utf8"));
    for (const text of seen) expect(() => JSON.parse(text)).not.toThrow();
    expect(JSON.parse(seen.at(-1)!).ver).toBe("2");
  });
});
