import { describe, expect, it } from "vitest";
import { parseSince } from "./since.ts";

describe("parseSince", () => {
  const now = Date.parse("2026-12-01T12:00:00.000Z");

  it("takes a span back from now", () => {
    expect(parseSince("7d", now)?.toISOString()).toBe("2026-11-24T12:00:00.000Z");
    expect(parseSince("12h", now)?.toISOString()).toBe("2026-12-01T00:00:00.000Z");
    expect(parseSince("30m", now)?.toISOString()).toBe("2026-12-01T11:30:00.000Z");
  });

  it("takes an ISO 8601 date (midnight UTC) or date and time", () => {
    expect(parseSince("2026-11-01", now)?.toISOString()).toBe("2026-11-01T00:00:00.000Z");
    expect(parseSince("2026-11-01T10:30:00Z", now)?.toISOString()).toBe("2026-11-01T10:30:00.000Z");
    expect(parseSince("2026-11-01T10:30:00.250+02:00", now)?.toISOString()).toBe("2026-11-01T08:30:00.250Z");
  });

  it("refuses anything else", () => {
    for (const bad of ["", "yesterday", "7", "7 days", "2026-13-01", "2026-11-01T25:00", "Nov 1 2026", "-7d"]) expect(parseSince(bad, now), bad).toBeUndefined();
  });
});
