import { describe, expect, it } from "vitest";
import { prng } from "../../test/helpers/prng.ts";
import { boundedDistance, closestJids, editLimit } from "./closest.ts";

/** Optimal string alignment distance, the plain full-table way. */
function fullDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}

describe("boundedDistance", () => {
  it("counts a substitution, an insertion, a deletion and a swap of neighbours as one edit each", () => {
    expect(boundedDistance("alice@a.test", "alice@a.test", 4)).toBe(0);
    expect(boundedDistance("alice@a.test", "alace@a.test", 4)).toBe(1);
    expect(boundedDistance("alice@a.test", "allice@a.test", 4)).toBe(1);
    expect(boundedDistance("alice@a.test", "alce@a.test", 4)).toBe(1);
    expect(boundedDistance("alice@a.test", "alice@a.tset", 4)).toBe(1);
    expect(boundedDistance("alice@a.test", "bob@b.test", 4)).toBeUndefined();
    expect(boundedDistance("abc", "abcdefgh", 4)).toBeUndefined();
  });

  it("agrees with the full table on random pairs, within the limit and past it", () => {
    const rand = prng(14);
    const word = (n: number) => Array.from({ length: n }, () => "abc@."[Math.floor(rand() * 5)]).join("");
    for (let k = 0; k < 3_000; k++) {
      const a = word(Math.floor(rand() * 12));
      const b = rand() < 0.5 ? word(Math.floor(rand() * 12)) : a.slice(0, Math.floor(rand() * (a.length + 1))) + word(2) + a.slice(Math.floor(rand() * (a.length + 1)));
      const limit = 1 + Math.floor(rand() * 4);
      const full = fullDistance(a, b);
      expect(boundedDistance(a, b, limit), `${a} / ${b} limit ${limit}`).toBe(full <= limit ? full : undefined);
    }
  });
});

describe("closestJids", () => {
  const pending = ["held1@c.test", "held2@c.test", "alice@example.org", "bob@example.org", "carol@other.net"];

  it("names the closest pending JIDs first, at most three, ties by JID", () => {
    expect(closestJids("held3@c.test", pending)).toEqual(["held1@c.test", "held2@c.test"]);
    expect(closestJids("alcie@example.org", pending)).toEqual(["alice@example.org"]);
    expect(closestJids("bob@exmaple.org", pending)).toEqual(["bob@example.org"]);
    expect(closestJids("held@c.test", ["held1@c.test", "held22@c.test", "hold@c.test", "held@c.tests", "xheld@c.test"])).toEqual([
      "held1@c.test",
      "held@c.tests",
      "hold@c.test",
    ]);
  });

  it("names none when nothing is close, or nothing is pending", () => {
    expect(closestJids("nobody@x.test", pending)).toEqual([]);
    expect(closestJids("held1@c.test", [])).toEqual([]);
  });

  it("allows fewer edits for a short JID", () => {
    expect(editLimit("a@b.c")).toBe(1);
    expect(editLimit("someone@example.org")).toBe(4);
    expect(closestJids("x@y.z", ["a@b.c"])).toEqual([]);
  });

  it("stays fast with 10,000 pending requests, even ones as long as the typed JID", () => {
    const many = Array.from({ length: 10_000 }, (_, i) => `user${i}@partner${i % 97}.example`);
    const typed = "x".repeat(900) + "@example.org";
    // Alike in the middle, different at both ends: nothing to skip, every comparison runs long.
    const alike = Array.from({ length: 10_000 }, (_, i) => `ab${"x".repeat(896)}${String(i).padStart(6, "y")}@example.org`);
    const t0 = performance.now();
    expect(closestJids("user4242@partner71.exmaple", many)[0]).toBe("user4242@partner71.example");
    expect(closestJids(typed, alike)).toEqual([]);
    expect(performance.now() - t0).toBeLessThan(500);
  });

  it("stops after its work limit with what it found so far", () => {
    const pending = ["held1@c.test", ...Array.from({ length: 100 }, (_, i) => `held${i + 2}@c.test`)];
    expect(closestJids("held1@c.tset", pending, 3, 0)).toEqual(["held1@c.test"]);
    expect(closestJids("held1@c.tset", pending, 3)).toEqual(["held1@c.test", "held10@c.test", "held11@c.test"]);
  });
});
