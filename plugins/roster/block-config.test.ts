/**
 * The `block` options in a real config file: each invalid combination (block with another action,
 * rateLimit.block without over: block, a bad scope, a bad or too long `for`) is a config error at
 * file:line:column of the offending key, reported together with the others.
 */
import { afterAll, describe, expect, it } from "vitest";
import { prepareConfig } from "../../bots/prepare.ts";
import { ConfigError, type ConfigIssue } from "../../bots/config/source.ts";
import { lines, tempDir } from "../../test/helpers/tmp.ts";
import type { RosterConfig } from "./config.ts";

const tmp = tempDir("block-config-");
afterAll(() => tmp.remove());

const HEAD = ["bots:", "  - id: a", "    jid: a@x.org", "    password: ${PW}", "    plugins:", "      roster:", "        subscriptions:"];

async function prepare(...body: string[]) {
  const file = tmp.write(`c${Math.random().toString(36).slice(2)}.yaml`, lines(...HEAD, ...body));
  return prepareConfig(file, { secrets: true, env: { PW: "x" } });
}

async function issues(...body: string[]): Promise<string[]> {
  try {
    await prepare(...body);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return err.issues.map((i: ConfigIssue) => `${i.line}:${i.column} ${i.message}`);
  }
  throw new Error("expected a ConfigError");
}

describe("block options in the config file", () => {
  it("a good config: block on rules and over: block, durations in ms", async () => {
    const prepared = await prepare(
      "          rules:",
      "            - { name: spammers, match: { jid: spam@x.test }, action: reject, block: true }",
      "            - name: flooders",
      "              match: { domain: '*.spam.test' }",
      "              action: reject",
      "              block: { scope: domain, for: 7d }",
      "          rateLimit:",
      "            perDomain: 20/min",
      "            over: block",
      "            block: { scope: domain, for: 1h }",
    );
    const config = prepared.bots[0]!.plugins[0]!.config as RosterConfig;
    expect(config.subscriptions.rules.map((r) => r.block)).toEqual([true, { scope: "domain", for: 604_800_000 }]);
    expect(config.subscriptions.rateLimit).toMatchObject({ over: "block", block: { scope: "domain", for: 3_600_000 } });
  });

  it("each invalid combination is an error at its key or value, all in one report", async () => {
    expect(
      await issues(
        "          rules:",
        "            - name: friends", // 9
        "              match: { domain: friends.test }",
        "              action: accept",
        "              block: true", // 12: block with accept
        "            - name: flooders",
        "              match: { domain: spam.test }",
        "              action: reject",
        "              block: { scope: server, for: 7d }", // 16: bad scope
        "            - name: forever",
        "              match: { domain: forever.test }",
        "              action: reject",
        "              block:",
        "                for: 3651d", // 21: too long
        "            - name: vague",
        "              match: { domain: vague.test }",
        "              action: reject",
        "              block: { for: a week }", // 25: not a duration
        "          rateLimit:",
        "            perDomain: 20/min",
        "            over: ignore",
        "            block: { scope: domain }", // 29: rateLimit.block without over: block
      ),
    ).toEqual([
      "12:22 block goes only with action: reject (this rule's action is accept): a blocked sender cannot be answered otherwise",
      '16:31 scope must be "bare" or "domain"',
      "21:22 at most 3650d (ten years)",
      '25:29 expected a duration like "90m", "12h" or "7d"',
      "29:20 rateLimit.block goes only with over: block (over is ignore)",
    ]);
  });

  it("an unknown over, and block given as neither true nor settings", async () => {
    expect(
      await issues(
        "          rules:",
        "            - { name: r, match: { domain: r.test }, action: reject, block: domain }", // 9
        "          rateLimit:",
        "            total: 5/s",
        "            over: blocks", // 12
      ),
    ).toEqual([
      "9:76 expected true, or { scope: bare|domain, for: DURATION }",
      expect.stringMatching(/^12:19 Invalid option: expected one of .*"block"/),
    ]);
  });

  it("over: block without perDomain: nothing could ever be blocked", async () => {
    expect(
      await issues(
        "          rateLimit:",
        "            total: 5/s",
        "            over: block", // 10
      ),
    ).toEqual(["10:19 over: block needs perDomain: only a sender whose own domain is over its limit is blocked (over the total limit alone, a request is rejected)"]);
  });
});
