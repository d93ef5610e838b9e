import { describe, expect, it } from "vitest";
import { ReplyThrottle } from "./throttle.ts";

describe("ReplyThrottle", () => {
  it("allows one reply per key per interval", () => {
    const t = new ReplyThrottle(1_000);
    expect(t.allow("a", 0)).toBe(true);
    expect(t.allow("a", 999)).toBe(false);
    expect(t.allow("b", 999)).toBe(true);
    expect(t.allow("a", 1_000)).toBe(true);
  });

  it("forgets the oldest keys beyond its size", () => {
    const t = new ReplyThrottle(1_000, 2);
    t.allow("a", 0);
    t.allow("b", 0);
    t.allow("c", 0);
    expect(t.allow("a", 1)).toBe(true); // forgotten
    expect(t.allow("c", 1)).toBe(false);
  });
});
