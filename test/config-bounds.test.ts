/**
 * Every duration and rate setting of the config, the host's and each built-in plugin's, found in
 * the config's JSON Schema (so a setting added later is tested too): a value beyond its bound is a
 * config error at that value's line and column, naming the maximum.
 */
import { afterAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { configJsonSchema } from "../bots/config/json-schema.ts";
import { ConfigError, formatPath, type ConfigIssue, type ConfigPath } from "../bots/config/source.ts";
import { prepareConfig } from "../bots/prepare.ts";
import { tempDir } from "./helpers/tmp.ts";

type JsonSchema = Record<string, unknown> & {
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  $ref?: string;
  pattern?: string;
};

type Kind = "duration" | "long duration" | "rate";

/** A duration is a number or a "30s"-like string (a long one without ms); a rate a "20/min"-like string. */
function kindOf(s: JsonSchema): Kind | undefined {
  const patterns = [s, ...(s.anyOf ?? [])].map((b) => b.pattern ?? "");
  if (patterns.some((p) => p.includes("(ms|s|m|h|d)"))) return "duration";
  if (patterns.some((p) => p.includes("(s|m|h|d)"))) return "long duration";
  if (patterns.some((p) => p.includes("(s|sec|second"))) return "rate";
  return undefined;
}

/** Names that say "a length of time": such a setting must be a duration, never a bare number. */
const TIME_NAME = /(?:[dD]elay|[tT]imeout|[iI]nterval|[pP]eriod|[tT]tl|[wW]ait|[eE]very|[dD]uration|[wW]indow|Ms|Seconds)$/;

interface Setting {
  path: ConfigPath;
  kind: Kind | undefined;
}

/** Every property in the schema with its config path (`$ref`s followed, arrays as index 0). */
function settings(root: JsonSchema): Setting[] {
  const out: Setting[] = [];
  const defs = (root.$defs ?? {}) as Record<string, JsonSchema>;
  const walk = (s: JsonSchema, p: ConfigPath, refs: string[]) => {
    if (s.$ref) {
      const name = s.$ref.replace("#/$defs/", "");
      if (!refs.includes(name) && defs[name]) walk(defs[name], p, [...refs, name]);
      return;
    }
    for (const branch of s.anyOf ?? []) walk(branch, p, refs);
    if (s.items) walk(s.items, [...p, 0], refs);
    for (const [key, child] of Object.entries(s.properties ?? {})) {
      out.push({ path: [...p, key], kind: kindOf(child) });
      walk(child, [...p, key], refs);
    }
  };
  walk(root, [], []);
  return out;
}

/** A config with one bot and `value` at `at` (under it when the path goes through bots[0]). */
function configWith(at: ConfigPath, value: string | number): string {
  const root: Record<string, unknown> = { bots: [{ id: "a", jid: "a@x.org", password: "${PW}" }] };
  let node: Record<string, unknown> | unknown[] = root;
  at.forEach((seg, i) => {
    const last = i === at.length - 1;
    const container = node as Record<string | number, unknown>;
    if (last) container[seg] = value;
    else container[seg] ??= typeof at[i + 1] === "number" ? [] : {};
    node = container[seg] as Record<string, unknown>;
  });
  return stringify(root);
}

/** 1-based line and column of `value` as the key at the end of `at` holds it in `text`. */
function positionOf(text: string, at: ConfigPath, value: string | number): { line: number; column: number } {
  const needle = `${at[at.length - 1]!}: ${value}`;
  const lines = text.split("\n");
  const index = lines.findIndex((l) => l.trimStart().replace(/^- /, "") === needle);
  expect(index, `"${needle}" in\n${text}`).toBeGreaterThanOrEqual(0);
  return { line: index + 1, column: lines[index]!.indexOf(needle) + needle.length - String(value).length + 1 };
}

const tmp = tempDir("config-bounds-");
afterAll(() => tmp.remove());

async function issuesFor(text: string): Promise<ConfigIssue[]> {
  const file = tmp.write(`c${Math.random().toString(36).slice(2)}.yaml`, text);
  try {
    await prepareConfig(file, { secrets: true, env: { PW: "x" } });
    return [];
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return err.issues;
  }
}

const all = settings(await configJsonSchema());
const durations = all.filter((s) => s.kind === "duration").map((s) => s.path);
const longDurations = all.filter((s) => s.kind === "long duration").map((s) => s.path);
const rates = all.filter((s) => s.kind === "rate").map((s) => s.path);

describe("the settings found", () => {
  it("include every duration and rate the config has today", () => {
    const names = (paths: ConfigPath[]) => paths.map(formatPath);
    expect(names(durations)).toEqual(
      expect.arrayContaining([
        "bots[0].reconnect.initialDelay",
        "bots[0].reconnect.maxDelay",
        "bots[0].plugins.roster.subscriptions.hookTimeout",
        "bots[0].plugins.roster.groups.interval",
      ]),
    );
    expect(names(longDurations)).toEqual(expect.arrayContaining(["bots[0].plugins.roster.subscriptions.rules[0].block.for", "bots[0].plugins.roster.subscriptions.rateLimit.block.for"]));
    expect(names(rates)).toEqual(expect.arrayContaining(["bots[0].plugins.roster.subscriptions.rateLimit.perDomain", "bots[0].plugins.roster.subscriptions.rateLimit.total"]));
  });

  it("every setting named like a length of time is a duration (so it has the bound)", () => {
    const bare = all.filter((s) => TIME_NAME.test(String(s.path[s.path.length - 1])) && s.kind !== "duration" && s.kind !== "long duration");
    expect(bare.map((s) => formatPath(s.path))).toEqual([]);
  });
});

describe.each(durations.map((p) => [formatPath(p), p] as const))("duration %s", (_name, at) => {
  it.each([["25d"], ["30d"], ["24.5d"], [2_073_600_001], [2 ** 31]])("%j is an error at its position, naming the maximum", async (value) => {
    const text = configWith(at, value);
    const issues = await issuesFor(text);
    expect(issues.filter((i) => formatPath(i.path) === formatPath(at))).toEqual([
      {
        file: expect.any(String),
        path: at,
        ...positionOf(text, at, value),
        message: "at most 24d (2073600000 ms): a timer cannot wait longer than about 24.8 days",
      },
    ]);
  });

  it("24d, the maximum, is accepted", async () => {
    const issues = await issuesFor(configWith(at, "24d"));
    expect(issues.filter((i) => formatPath(i.path) === formatPath(at))).toEqual([]);
  });
});

// Spans no single timer waits for (a block's `for`): their own bound, far above a timer's.
describe.each(longDurations.map((p) => [formatPath(p), p] as const))("long duration %s", (_name, at) => {
  it.each([["3651d"], ["87601h"], [315_360_000_001]])("%j is an error at its position, naming the maximum", async (value) => {
    const text = configWith(at, value);
    const issues = await issuesFor(text);
    expect(issues.filter((i) => formatPath(i.path) === formatPath(at))).toEqual([
      { file: expect.any(String), path: at, ...positionOf(text, at, value), message: "at most 3650d (ten years)" },
    ]);
  });

  it("3650d, the maximum, is accepted", async () => {
    const issues = await issuesFor(configWith(at, "3650d"));
    expect(issues.filter((i) => formatPath(i.path) === formatPath(at))).toEqual([]);
  });
});

describe.each(rates.map((p) => [formatPath(p), p] as const))("rate %s", (_name, at) => {
  it.each([
    ["0/min", "a rate of 0 lets nothing through: leave the limit out, or reject by a rule"],
    ["1000001/s", "at most 1000000 per second, minute or hour"],
  ])("%j is an error at its position", async (value, message) => {
    const text = configWith(at, value);
    const issues = await issuesFor(text);
    expect(issues.filter((i) => formatPath(i.path) === formatPath(at))).toEqual([
      { file: expect.any(String), path: at, ...positionOf(text, at, value), message },
    ]);
  });
});
