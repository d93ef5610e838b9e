/** What `explain` says of a rule with `block`: the entry it adds, for how long, and the fallback. */
import { afterAll, describe, expect, it, vi } from "vitest";
import { main } from "../../bots/cli.ts";
import { lines, tempDir } from "../../test/helpers/tmp.ts";
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

describe("roster-bot explain (the command)", () => {
  const tmp = tempDir("explain-cli-");
  afterAll(() => tmp.remove());
  const file = tmp.write(
    "bot.config.yaml",
    lines(
      "bots:",
      "  - id: main",
      "    jid: bot@example.org",
      "    password: ${EXPLAIN_PW}",
      "    plugins:",
      "      roster:",
      "        subscriptions:",
      "          rules:",
      "            - { name: flooders, match: { domain: '*.spam.example' }, action: reject, block: { scope: domain, for: 7d } }",
      "            - { name: plain, match: { domain: plain.example }, action: reject }",
    ),
  );
  async function explain(...argv: string[]) {
    vi.stubEnv("EXPLAIN_PW", "x");
    let out = "";
    const code = await main(["explain", ...argv, "--config", file], { out: (s) => void (out += s), err: () => {} });
    return { code, out };
  }

  it("--json gives block { entry, scope, forMs }, or null", async () => {
    const blocked = await explain("a@eu.spam.example", "--json");
    expect(blocked.code).toBe(0);
    expect(JSON.parse(blocked.out)).toMatchObject({ action: "reject", rule: "flooders", block: { entry: "eu.spam.example", scope: "domain", forMs: 604_800_000 } });
    expect(JSON.parse((await explain("a@plain.example", "--json")).out)).toMatchObject({ rule: "plain", block: null });
  });

  it("the text names the block and the fallback", async () => {
    const { out } = await explain("a@eu.spam.example");
    expect(out).toContain("a@eu.spam.example: reject, then block eu.spam.example (domain) for 7d\n");
    expect(out).toContain("note: on a server without blocking (XEP-0191) the request is only rejected");
  });
});
