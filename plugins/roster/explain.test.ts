/** What `explain` says of a rule with `block`: the entry it adds, for how long, and the fallback. */
import { describe, expect, it } from "vitest";
import { rosterConfigSchema } from "./config.ts";
import { explainOffline, formatExplanation } from "./explain.ts";

const config = rosterConfigSchema.parse({
  subscriptions: {
    rules: [
      { name: "spammers", match: { jid: "spam@x.test" }, action: "reject", block: true },
      { name: "flooders", match: { domain: "*.spam.example" }, action: "reject", block: { scope: "domain", for: "7d" } },
      { name: "friends", match: { domain: "friends.test" }, action: "accept" },
    ],
  },
});

describe("explain with block", () => {
  it("offline: the block, its entry and expiry, and that without XEP-0191 it only rejects", () => {
    const e = explainOffline(config, "/", "a@eu.spam.example");
    expect(e).toMatchObject({ action: "reject", rule: "flooders", block: { scope: "domain", forMs: 604_800_000 } });
    expect(e).not.toHaveProperty("blockingSupported"); // not known offline
    expect(formatExplanation(e).split("\n").slice(0, 3)).toEqual([
      "a@eu.spam.example: reject, then block eu.spam.example (domain) for 7d",
      '  decided by rule "flooders": domain *.spam.example matches rule "flooders"',
      "  note: on a server without blocking (XEP-0191) the request is only rejected",
    ]);
    expect(formatExplanation(explainOffline(config, "/", "Spam@X.test")).split("\n")[0]).toBe("spam@x.test: reject, then block spam@x.test (bare JID) until lifted by hand");
  });

  it("no block, no note", () => {
    const text = formatExplanation(explainOffline(config, "/", "a@friends.test"));
    expect(text.split("\n")[0]).toBe("a@friends.test: accept");
    expect(text).not.toMatch(/block/i);
  });

  it("live: a server without blocking is said plainly; with it, no note", () => {
    const offline = explainOffline(config, "/", "a@eu.spam.example");
    expect(formatExplanation({ ...offline, blockingSupported: false })).toContain("  note: this bot's server does not support blocking (XEP-0191): the request is only rejected\n");
    expect(formatExplanation({ ...offline, blockingSupported: true })).not.toContain("note:");
  });
});
