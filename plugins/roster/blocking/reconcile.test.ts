import { describe, expect, it } from "vitest";
import { isDue, reconcile } from "./reconcile.ts";

const NOW = Date.parse("2026-01-10T00:00:00Z");
const entry = (jid: string, expires?: string) => ({ jid, by: "rules", since: "2026-01-01T00:00:00Z", ...(expires ? { expires } : {}) });

describe("reconcile at session start", () => {
  it("lifts owned entries whose time is up, forgets those the server no longer holds, keeps the rest", () => {
    const owned = [
      entry("due@b.test", "2026-01-09T00:00:00Z"),
      entry("exactly@b.test", "2026-01-10T00:00:00Z"),
      entry("later@b.test", "2026-01-11T00:00:00Z"),
      entry("forever@b.test"),
      entry("removed@b.test"),
      entry("removed-and-due@b.test", "2026-01-01T00:00:00Z"),
    ];
    const server = new Set(["due@b.test", "exactly@b.test", "later@b.test", "forever@b.test", "person@b.test"]);
    const { lift, forget } = reconcile(owned, (j) => server.has(j), NOW);
    expect(lift.map((e) => e.jid)).toEqual(["due@b.test", "exactly@b.test"]);
    // Removed by a person: forgotten, never lifted (there is nothing to lift) nor re-added.
    expect(forget.map((e) => e.jid)).toEqual(["removed@b.test", "removed-and-due@b.test"]);
  });

  it("isDue: an entry without an expiry never is", () => {
    expect(isDue({}, NOW)).toBe(false);
    expect(isDue({ expires: "2026-01-10T00:00:00.001Z" }, NOW)).toBe(false);
    expect(isDue({ expires: "2026-01-10T00:00:00Z" }, NOW)).toBe(true);
  });
});
