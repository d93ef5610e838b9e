/**
 * The example configs stay valid (host part, every plugin's section, rule files, plugin paths, their
 * policy test cases pass) and the systemd unit agrees with the config it is written for.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { prepareConfig } from "../bots/prepare.ts";
import type { RosterConfig } from "../plugins/roster/config.ts";
import { runPolicyTests } from "../plugins/roster/policy-tests/index.ts";
import { REPO_ROOT } from "../test/helpers/tmp.ts";

const CONFIGS = path.join(REPO_ROOT, "examples", "configs");
const credentials = mkdtempSync(path.join(os.tmpdir(), "roster-bot-credentials-"));
writeFileSync(path.join(credentials, "roster-bot-password"), "from-a-credential\n");
afterAll(() => rmSync(credentials, { recursive: true, force: true }));

/** Every environment variable an example config references. */
const ENV = {
  ROSTER_BOT_PASSWORD: "p1",
  SUPPORT_BOT_PASSWORD: "p2",
  SALES_BOT_PASSWORD: "p3",
  CREDENTIALS_DIRECTORY: credentials,
  DEMO_BOT_PASSWORD: "p4",
  DEMO_SERVICE: "xmpp://127.0.0.1:5222",
  DEMO_DATA_DIR: credentials,
};

const prepare = (name: string) => prepareConfig(path.join(CONFIGS, name), { secrets: true, env: ENV });
const summary = async (name: string) =>
  (await prepare(name)).bots.map((b) => ({ id: b.bot.id, plugins: b.plugins.map((p) => p.definition.name), password: b.bot.password?.reveal() }));

describe("example configs", () => {
  it("every example config is valid", async () => {
    const files = readdirSync(CONFIGS).filter((f) => f.endsWith(".yaml") && !f.endsWith(".policy.test.yaml"));
    expect(files.sort()).toEqual(["demo.yaml", "minimal.yaml", "multi-bot.yaml", "strict-company.yaml"]);
    for (const f of files) await expect(prepare(f), f).resolves.toBeTruthy();
  });

  it("minimal.yaml: one bot, the roster plugin", async () => {
    expect(await summary("minimal.yaml")).toEqual([{ id: "main", plugins: ["roster"], password: "p1" }]);
  });

  it("multi-bot.yaml: two bots with their own plugins, the welcome example loaded by relative path", async () => {
    expect(await summary("multi-bot.yaml")).toEqual([
      { id: "support", plugins: ["roster", "admin", "welcome"], password: "p2" },
      { id: "sales", plugins: ["roster", "welcome"], password: "p3" },
    ]);
  });

  it("strict-company.yaml: password from a systemd credential, admin and allowlist plugins", async () => {
    const [bot] = (await prepare("strict-company.yaml")).bots;
    expect(bot!.bot).toMatchObject({ id: "company", tls: "required", dataDir: "/var/lib/roster-bot/company" });
    expect(bot!.bot.password?.reveal()).toBe("from-a-credential");
    expect(bot!.plugins.map((p) => p.definition.name)).toEqual(["roster", "admin", "allowlist"]);
    const roster = bot!.plugins[0]!.config as { subscriptions: { default: string; rules: { name: string; action: string }[]; rateLimit?: unknown } };
    expect(roster.subscriptions.default).toBe("reject");
    expect(Object.fromEntries(roster.subscriptions.rules.map((r) => [r.name, r.action]))).toMatchObject({
      staff: "mutual",
      partners: "accept",
      "spam-patterns": "reject",
      unknown: "ask",
    });
    expect(roster.subscriptions.rateLimit).toMatchObject({ over: "block", block: { scope: "domain", for: 86_400_000 } });
    const blocks = Object.fromEntries(roster.subscriptions.rules.map((r) => [r.name, (r as { block?: unknown }).block]));
    expect(blocks).toMatchObject({ "spam-patterns": { scope: "bare", for: 30 * 86_400_000 }, "spam-domains": { scope: "domain" }, staff: undefined });
  });

  it.each(["demo", "strict-company"])("%s.yaml: its policy test cases pass and name every rule", async (name) => {
    const [bot] = (await prepare(`${name}.yaml`)).bots;
    const config = bot!.plugins.find((p) => p.definition.name === "roster")!.config as RosterConfig;
    expect(config.subscriptions.tests).toBe(`./${name}.policy.test.yaml`);
    const report = runPolicyTests(config, CONFIGS);
    expect(report.failed).toEqual([]);
    const cases = parseYaml(readFileSync(path.join(CONFIGS, `${name}.policy.test.yaml`), "utf8")) as { rule?: string; groups?: string[] }[];
    expect(report.total).toBe(cases.length);
    const named = new Set(cases.map((c) => c.rule));
    expect(config.subscriptions.rules.map((r) => r.name).filter((r) => !named.has(r))).toEqual([]);
    expect(named.has("default")).toBe(true);
    // Each group an assign rule gives is expected by some case.
    const expected = new Set(cases.flatMap((c) => c.groups ?? []));
    expect(config.groups.assign.map((a) => a.group).filter((g) => !expected.has(g))).toEqual([]);
  });

  it("a missing environment variable is reported, not ignored", async () => {
    await expect(prepareConfig(path.join(CONFIGS, "multi-bot.yaml"), { secrets: true, env: { SUPPORT_BOT_PASSWORD: "x" } })).rejects.toThrow(
      /SALES_BOT_PASSWORD is not set/,
    );
  });
});

describe("systemd unit", () => {
  const unit = readFileSync(path.join(REPO_ROOT, "examples", "systemd", "roster-bot.service"), "utf8");
  const values = (key: string) => [...unit.matchAll(new RegExp(`^${key}=(.*)$`, "gm"))].map((m) => m[1]!.trim());

  it("is hardened and restarts on failure, reloads with SIGHUP", () => {
    expect(values("User")).toEqual(["roster-bot"]);
    expect(values("Restart")).toEqual(["on-failure"]);
    expect(values("RestartPreventExitStatus")).toEqual(["2"]);
    expect(values("ExecReload")).toEqual(["/bin/kill -HUP $MAINPID"]);
    expect(values("ProtectSystem")).toEqual(["strict"]);
    expect(values("NoNewPrivileges")).toEqual(["yes"]);
    expect(values("MemoryDenyWriteExecute")).toEqual([]); // would break V8's JIT
  });

  it("agrees with strict-company.yaml: credential name, data directory", () => {
    const yaml = readFileSync(path.join(CONFIGS, "strict-company.yaml"), "utf8");
    const [credential] = values("LoadCredential")[0]!.split(":");
    expect(yaml).toContain(`passwordFile: \${CREDENTIALS_DIRECTORY}/${credential}`);
    const dataDir = /^\s*dataDir: (.*)$/m.exec(yaml)![1]!;
    expect(values("ReadWritePaths").some((p) => dataDir.startsWith(p + "/"))).toBe(true);
    expect(values("ExecStart")[0]).toContain("run --config /etc/roster-bot/bot.config.yaml");
  });
});
