/**
 * Group sync against a real Prosody: contacts on several VirtualHosts, drift made by hand from
 * another resource of the bot's account, declared contacts, the prune guard, transform taps,
 * convergence and loop freedom (counted in outgoing roster sets), reload, and the CLI.
 */
import { spawn } from "node:child_process";
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import path from "node:path";
import type { XmlElement } from "../../bots/xmpp.ts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TransformAbortedError } from "../../bots/hooks.ts";
import { definePlugin } from "../../bots/plugin.ts";
import type { SyncPlan, SyncResult } from "../../plugins/roster/api.ts";
import roster from "../../plugins/roster/index.ts";
import { startServer, type RosterSeedItem, type XmppTestServer } from "../../scripts/xmpp-server.ts";
import { TestClient } from "../../scripts/xmpp-client.ts";
import { startTestBot } from "../helpers/bot.ts";
import { waitForLog } from "../helpers/logger.ts";
import { lines, REPO_ROOT, tempDir } from "../helpers/tmp.ts";
import { pause, until } from "../helpers/wait.ts";

const NS_ROSTER = "jabber:iq:roster";
const PASSWORD = "bot-password";
let server: XmppTestServer;

beforeAll(async () => {
  server = await startServer();
});
afterAll(async () => {
  await server?.stop();
});

const GROUPS = {
  managed: ["Staff", "Partners", "VIP"],
  assign: [
    { group: "Staff", match: { domain: "a.test" } },
    { group: "Partners", match: { domain: "c.test" } },
    { group: "VIP", match: { jid: "ceo@a.test" } },
  ],
};


/** Starts a bot with the roster plugin and a recorder of group-sync results and outgoing roster sets. */
async function groupBot(user: string, config: Record<string, unknown>, options: { seed?: RosterSeedItem[]; dataDir?: string; tap?: (plan: SyncPlan) => SyncPlan | undefined } = {}) {
  server.createAccount(user, "a.test", PASSWORD);
  if (options.seed) server.writeRoster(user, "a.test", options.seed);
  const results: SyncResult[] = [];
  const sets: XmlElement[] = [];
  const recorder = definePlugin({
    name: "recorder",
    dependencies: ["roster"],
    apply(ctx) {
      const r = ctx.use("roster");
      ctx.tap(r.hooks.afterGroupSync, (result) => void results.push(result));
      if (options.tap) ctx.tap(r.hooks.beforeGroupSync, options.tap);
    },
  });
  const { runtime, logs, config: botConfig } = await startTestBot({
    server,
    user,
    password: PASSWORD,
    dataDir: options.dataDir,
    plugins: [{ definition: roster, config }, { definition: recorder }],
    beforeStart: (rt) =>
      rt.connection.client.on("send", (el: XmlElement) => {
        if (el.name === "iq" && el.attrs.type === "set" && el.getChild("query", NS_ROSTER)) sets.push(el);
      }),
  });
  const service = runtime.service("roster");
  await service.whenLoaded();
  return { runtime, service, results, sets, logs, dataDir: botConfig.dataDir, jid: `${user}@a.test` };
}

/** Another resource of the bot's account (a person editing the roster by hand). */
function phoneOf(jid: string): Promise<TestClient> {
  return TestClient.connect({ service: server.service, jid, password: PASSWORD, resource: "phone", roster: true });
}

async function contact(jid: string): Promise<TestClient> {
  const [user, host] = jid.split("@") as [string, string];
  server.createAccount(user, host, "pw");
  return TestClient.connect({ service: server.service, jid, password: "pw", roster: true, presence: true });
}

/** The roster as the server holds it, read by another resource: jid -> sorted groups. */
async function serverRoster(jid: string): Promise<Record<string, { name?: string; groups: string[]; subscription: string }>> {
  const phone = await TestClient.connect({ service: server.service, jid, password: PASSWORD, resource: "reader" });
  try {
    const reply = await phone.rosterGet();
    const out: Record<string, { name?: string; groups: string[]; subscription: string }> = {};
    for (const item of reply.getChild("query", NS_ROSTER)!.getChildren("item")) {
      out[item.attrs.jid!] = {
        ...(item.attrs.name ? { name: item.attrs.name } : {}),
        groups: item.getChildren("group").map((g) => g.text()).sort(),
        subscription: item.attrs.subscription ?? "none",
      };
    }
    return out;
  } finally {
    await phone.stop();
  }
}

const groupsOf = (r: Record<string, { groups: string[] }>) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v.groups]));

describe("group sync keeps declared groups", () => {
  it("corrects only managed groups across VirtualHosts, leaves hand-made groups alone, and converges", async () => {
    const seed: RosterSeedItem[] = [
      { jid: "alice@a.test", subscription: "both", groups: ["Friends"] },
      { jid: "ceo@a.test", name: "The Boss", subscription: "both", groups: ["Staff"] },
      { jid: "bob@b.test", subscription: "to", groups: ["Staff", "Golf"] },
      { jid: "carol@c.test", subscription: "from", groups: [] },
      { jid: "dan@b.test", subscription: "none", groups: ["Golf"] },
    ];
    const bot = await groupBot("gs-drift", { groups: GROUPS }, { seed });
    try {
      // The loaded trigger syncs at once: 4 contacts drifted (dan is fine).
      await until(() => bot.results.length >= 1);
      expect(bot.results[0]!.trigger).toBe("loaded");
      expect(bot.results[0]!.failed).toEqual([]);
      expect(bot.sets).toHaveLength(4);
      expect(groupsOf(await serverRoster(bot.jid))).toEqual({
        "alice@a.test": ["Friends", "Staff"],
        "ceo@a.test": ["Staff", "VIP"],
        "bob@b.test": ["Golf"],
        "carol@c.test": ["Partners"],
        "dan@b.test": ["Golf"],
      });
      // The name and subscription survive the set (the full item is sent).
      expect(bot.service.get("ceo@a.test")).toMatchObject({ name: "The Boss", subscription: "both" });
      // Convergence: nothing left to plan, and a second sync sends no roster set.
      expect(bot.service.groups.plan()).toEqual({ changes: [], heldBack: 0 });
      const second = await bot.service.groups.sync();
      expect(second.applied).toEqual([]);
      await pause(300);
      expect(bot.sets).toHaveLength(4);

      // Drift by hand from another resource: alice loses Staff and gets VIP and a group of her own.
      const phone = await phoneOf(bot.jid);
      await phone.rosterSet("alice@a.test", { name: "Alice", groups: ["VIP", "Mine", "Friends"] });
      await until(() => bot.results.length >= 3);
      expect(bot.results[2]!.trigger).toBe("push");
      await until(() => bot.service.get("alice@a.test")?.groups.join() === "Friends,Mine,Staff");
      expect(bot.service.get("alice@a.test")?.name).toBe("Alice"); // no declaration names her: kept
      // Exactly one corrective set; its echo and the hand-made push cause nothing more.
      await pause(500);
      expect(bot.sets).toHaveLength(5);
      expect(bot.results).toHaveLength(3);

      // A change that needs nothing (a group of a person's own) does not even start a sync.
      await phone.rosterSet("dan@b.test", { groups: ["Golf", "Chess"] });
      await until(() => bot.service.get("dan@b.test")?.groups.includes("Chess") === true);
      await pause(300);
      expect(bot.results).toHaveLength(3);
      expect(bot.sets).toHaveLength(5);
      await phone.stop();

      const audit = readFileSync(path.join(bot.dataDir, "audit.log"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
      const mine = audit.filter((l) => l.kind === "roster" && l.by === "group-sync");
      expect(mine).toHaveLength(5);
      expect(mine.find((l) => l.jid === "carol@c.test")).toMatchObject({ op: "set", groups: ["Partners"], ok: true });
    } finally {
      await bot.runtime.stop();
    }
  });

  it("gives a newly accepted contact its groups at once", async () => {
    const bot = await groupBot("gs-accept", {
      subscriptions: { default: "reject", rules: [{ name: "partners", match: { domain: "c.test" }, action: "accept" }] },
      groups: GROUPS,
    });
    const erin = await contact("erin@c.test");
    try {
      await erin.presence(bot.jid, "subscribe");
      await until(() => bot.service.get("erin@c.test")?.groups.join() === "Partners");
      expect(bot.service.get("erin@c.test")).toMatchObject({ subscription: "from" });
      await pause(300);
      expect(bot.sets).toHaveLength(1);
    } finally {
      await erin.stop();
      await bot.runtime.stop();
    }
  });
});

describe("declared contacts", () => {
  it("adds a missing declared contact with its name and groups, subscribes once and pre-approves", async () => {
    const frank = await contact("frank@b.test");
    const bot = await groupBot("gs-declare", {
      subscriptions: { default: "reject" },
      groups: { managed: ["Staff"], contacts: [{ jid: "Frank@B.test", name: "Ops desk", groups: ["Staff", "Desk"], subscribe: true }] },
    });
    try {
      const request = await frank.waitFor((s) => s.name === "presence" && s.attrs.type === "subscribe" && (s.attrs.from ?? "").startsWith(bot.jid), 5_000, true);
      expect(request.attrs.from?.split("/")[0]).toBe(bot.jid);
      await until(() => bot.service.get("frank@b.test")?.ask === "subscribe");
      expect(bot.service.get("frank@b.test")).toMatchObject({ name: "Ops desk", groups: ["Desk", "Staff"] });
      // ejabberd 23.01 has no pre-approval: the bot does not try one there.
      expect(bot.service.features.preApproval).toBe(server.kind === "prosody");
      expect(bot.results[0]!.applied.map((c) => `${c.op} ${c.jid} ${c.subscribe}`)).toEqual(["add frank@b.test true"]);

      if (server.kind === "prosody") {
        // Pre-approved: frank's own request is answered by the server even though the policy says reject.
        await frank.presence(bot.jid, "subscribe");
        const answer = await frank.waitFor((s) => s.name === "presence" && (s.attrs.from ?? "").split("/")[0] === bot.jid && ["subscribed", "unsubscribed"].includes(s.attrs.type ?? ""));
        expect(answer.attrs.type).toBe("subscribed");
      } else {
        await pause(300);
        expect(frank.presencesFrom(bot.jid, "subscribed")).toEqual([]);
      }

      // frank denies the bot's request: the bot does not ask again (no loop through the other side).
      await frank.presence(bot.jid, "unsubscribed");
      await until(() => bot.service.get("frank@b.test")?.ask === undefined);
      await pause(500);
      expect(frank.presencesFrom(bot.jid, "subscribe")).toHaveLength(1);
      expect(bot.service.groups.plan().changes).toEqual([]);
      expect(bot.sets).toHaveLength(1);
    } finally {
      await frank.stop();
      await bot.runtime.stop();
    }
  });
});

describe("prune", () => {
  it("removes at most maxPerRun unwanted contacts per sync, says how many were held back, never a held request", async () => {
    const tmp = tempDir("gs-prune-");
    const dataDir = tmp.dir;
    // A subscription request from held@b.test is waiting for an admin (the `ask` action).
    mkdirSync(path.join(dataDir, "plugins", "roster"), { recursive: true });
    writeFileSync(
      path.join(dataDir, "plugins", "roster", "pending.json"),
      JSON.stringify({ format: 1, pending: [{ jid: "held@b.test", since: "2024-01-01T00:00:00.000Z", decidedBy: "rules", rule: "hold", reason: "held" }] }),
    );
    const seed: RosterSeedItem[] = [
      { jid: "keep@a.test", subscription: "both", groups: ["Staff"] },
      { jid: "declared@b.test", subscription: "both", groups: ["Golf"] },
      { jid: "held@b.test", subscription: "none", groups: [] },
      ...["p1", "p2", "p3", "p4", "p5"].map((u) => ({ jid: `${u}@b.test`, subscription: "both" as const, groups: ["Golf"] })),
    ];
    const bot = await groupBot(
      "gs-prune",
      { groups: { ...GROUPS, contacts: [{ jid: "declared@b.test" }], prune: { enabled: true, maxPerRun: 2 }, auto: false } },
      { seed, dataDir },
    );
    try {
      const plan = bot.service.groups.plan();
      expect(plan.changes.map((c) => `${c.op} ${c.jid}`)).toEqual(["remove p1@b.test", "remove p2@b.test"]);
      expect(plan.heldBack).toBe(3);
      expect(bot.sets).toHaveLength(0); // auto: false, and plan() sends nothing

      const first = await bot.service.groups.sync();
      expect(first.applied.map((c) => c.jid)).toEqual(["p1@b.test", "p2@b.test"]);
      expect(first.plan.heldBack).toBe(3);
      await pause(300);
      expect(bot.sets).toHaveLength(2); // removal pushes started nothing more
      expect(Object.keys(await serverRoster(bot.jid)).sort()).toEqual(["declared@b.test", "held@b.test", "keep@a.test", "p3@b.test", "p4@b.test", "p5@b.test"]);

      expect((await bot.service.groups.sync()).plan.heldBack).toBe(1);
      const third = await bot.service.groups.sync();
      expect(third.applied.map((c) => c.jid)).toEqual(["p5@b.test"]);
      expect(third.plan.heldBack).toBe(0);
      expect(Object.keys(await serverRoster(bot.jid)).sort()).toEqual(["declared@b.test", "held@b.test", "keep@a.test"]);
      expect(bot.service.groups.plan()).toEqual({ changes: [], heldBack: 0 });
    } finally {
      await bot.runtime.stop();
      tmp.remove();
    }
  });
});

describe("beforeGroupSync", () => {
  const seed: RosterSeedItem[] = [
    { jid: "alice@a.test", subscription: "both", groups: [] },
    { jid: "carol@c.test", subscription: "both", groups: [] },
  ];

  it("a tap that empties the plan: nothing is applied", async () => {
    const bot = await groupBot("gs-empty", { groups: GROUPS }, { seed, tap: () => ({ changes: [], heldBack: 0 }) });
    try {
      await until(() => bot.results.length >= 1);
      expect(bot.results[0]).toMatchObject({ trigger: "loaded", applied: [], failed: [], plan: { changes: [] } });
      expect(bot.service.groups.plan().changes).toHaveLength(2); // still wanted; the tap vetoed it
      await pause(300);
      expect(bot.sets).toHaveLength(0);
    } finally {
      await bot.runtime.stop();
    }
  });

  it("a tap that edits the plan: only what it leaves is applied", async () => {
    const bot = await groupBot("gs-edit", { groups: { ...GROUPS, auto: false } }, { seed, tap: (plan) => ({ ...plan, changes: plan.changes.filter((c) => c.jid !== "alice@a.test") }) });
    try {
      const result = await bot.service.groups.sync();
      expect(result.applied.map((c) => c.jid)).toEqual(["carol@c.test"]);
      expect(bot.sets).toHaveLength(1);
      expect(groupsOf(await serverRoster(bot.jid))).toEqual({ "alice@a.test": [], "carol@c.test": ["Partners"] });
    } finally {
      await bot.runtime.stop();
    }
  });

  it("a tap that throws aborts the sync: nothing is applied", async () => {
    const bot = await groupBot("gs-throw", { groups: { ...GROUPS, auto: false } }, { seed, tap: () => { throw new Error("vetoed by test"); } });
    try {
      await expect(bot.service.groups.sync()).rejects.toBeInstanceOf(TransformAbortedError);
      await waitForLog(bot.logs, (l) => String(l.msg).includes("group sync aborted"));
      expect(bot.sets).toHaveLength(0);
      expect(bot.results).toHaveLength(0);
    } finally {
      await bot.runtime.stop();
    }
  });
});

describe("reload", () => {
  it("swaps valid rules and syncs to them; keeps the old ones when the new config does not compile", async () => {
    const seed: RosterSeedItem[] = [{ jid: "gina@b.test", subscription: "both", groups: [] }];
    const bot = await groupBot("gs-reload", { groups: GROUPS }, { seed });
    try {
      await pause(300);
      expect(bot.sets).toHaveLength(0);
      const reload = (groups: unknown) =>
        bot.runtime.reload([
          { key: "roster", definition: roster, config: roster.config!.parse({ groups }) },
          { key: "recorder", definition: { name: "recorder", apply() {} }, config: {} },
        ]);
      await reload({ ...GROUPS, assign: [...GROUPS.assign, { group: "Staff", match: { domain: "b.test" } }] });
      await until(() => bot.service.get("gina@b.test")?.groups.join() === "Staff");
      // ejabberd pushes the item before it answers the set: the sync's result comes a moment later.
      await until(() => bot.results.some((r) => r.trigger === "reload"));
      expect(bot.results.at(-1)!.trigger).toBe("reload");

      await reload({ ...GROUPS, assign: [{ group: "Staff", match: { list: "./no-such-list.txt" } }] });
      await waitForLog(bot.logs, (l) => String(l.msg).includes("rejected the new config"));
      await pause(300);
      expect(bot.service.groups.plan().changes).toEqual([]); // still the previous rules
      expect(bot.sets).toHaveLength(1);
    } finally {
      await bot.runtime.stop();
    }
  });
});

describe("the CLI", () => {
  function cli(args: string[], env: Record<string, string>): Promise<{ code: number | null; out: string; err: string }> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [path.join(REPO_ROOT, "bin/roster-bot.js"), ...args], { cwd: REPO_ROOT, env: { ...process.env, ...env } });
      let out = "";
      let err = "";
      child.stdout.on("data", (d) => (out += d));
      child.stderr.on("data", (d) => (err += d));
      child.on("error", reject);
      child.on("close", (code) => resolve({ code, out, err }));
    });
  }

  it("plan --json changes nothing; sync applies and exits 0, or 1 when an item fails; then plan is empty", async () => {
    server.createAccount("gs-cli", "a.test", PASSWORD);
    server.writeRoster("gs-cli", "a.test", [
      { jid: "alice@a.test", name: "Alice", subscription: "both", groups: ["Friends"] },
      { jid: "bob@b.test", subscription: "both", groups: ["Staff"] },
    ]);
    const tmp = tempDir("gs-cli-");
    try {
      // A plugin that, when GS_BREAK names a JID, adds a change of it the server refuses: the bot's own JID on
      // Prosody; ejabberd stores an account's own JID, but refuses a JID its nodeprep rejects (🔑 is
      // unassigned in stringprep's Unicode 3.2), which the bot's JID check lets through.
      const breakJid = server.kind === "ejabberd" ? "🔑@c.test" : "gs-cli@a.test";
      tmp.write(
        "breaker.ts",
        lines(
          'import { definePlugin } from "../../bots/plugin.ts";',
          "export default definePlugin({",
          '  name: "breaker",',
          '  dependencies: ["roster"],',
          "  apply(ctx) {",
          '    const roster = ctx.use("roster");',
          "    ctx.tap(roster.hooks.beforeGroupSync, (plan) => process.env.GS_BREAK",
          '      ? { ...plan, changes: [...plan.changes, { jid: process.env.GS_BREAK, op: "update", groups: { before: [], after: ["Self"] }, name: { before: undefined, after: undefined } }] }',
          "      : undefined);",
          "  },",
          "});",
        ),
      );
      const file = tmp.write(
        "bot.config.yaml",
        lines(
          "log: { level: info }",
          "bots:",
          "  - id: gs",
          "    jid: gs-cli@a.test",
          "    password: ${GS_CLI_PW}",
          `    service: ${server.service}`,
          "    tls: plaintext-loopback",
          "    dataDir: ./data",
          "    plugins:",
          "      roster:",
          "        groups:",
          "          managed: [Staff]",
          "          assign:",
          "            - group: Staff",
          "              match: { domain: a.test }",
          "          contacts:",
          "            - { jid: ops@c.test, name: Ops, groups: [Staff] }",
          "      ./breaker.ts: {}",
        ),
      );
      const env = { GS_CLI_PW: PASSWORD };

      const plan = await cli(["plan", "--config", file, "--json"], env);
      expect(plan.err).toBe("");
      expect(plan.code).toBe(0);
      expect(JSON.parse(plan.out)).toEqual({
        changes: [
          { jid: "ops@c.test", op: "add", groups: { before: [], after: ["Staff"] }, name: { before: null, after: "Ops" } },
          { jid: "alice@a.test", op: "update", groups: { before: ["Friends"], after: ["Friends", "Staff"] }, name: { before: "Alice", after: "Alice" } },
          { jid: "bob@b.test", op: "update", groups: { before: ["Staff"], after: [] }, name: { before: null, after: null } },
        ],
        heldBack: 0,
        skipped: [],
        pending: [],
        blocklist: { supported: true, lift: [], forget: [] },
      });
      // plan changed nothing (and did not sync by itself).
      expect(groupsOf(await serverRoster("gs-cli@a.test"))).toEqual({ "alice@a.test": ["Friends"], "bob@b.test": ["Staff"] });
      const text = await cli(["plan", "--config", file], env);
      expect(text.code).toBe(0);
      expect(text.out).toContain("3 change(s) would be made:");
      expect(text.out).toContain("~ alice@a.test  groups: +Staff (now: Friends, Staff)");
      expect(text.out).toContain("\nblocklist: no changes\n");

      const broken = await cli(["sync", "--config", file], { ...env, GS_BREAK: breakJid });
      expect(broken.code).toBe(1);
      expect(broken.out).toContain("3 change(s) applied, 1 failed");
      expect(broken.out).toContain(`FAILED ~ ${breakJid}`);

      const again = await cli(["sync", "--config", file, "--json"], env);
      expect(again.code).toBe(0);
      expect(JSON.parse(again.out)).toMatchObject({ trigger: "manual", applied: [], failed: [], heldBack: 0 });

      const after = await cli(["plan", "--config", file, "--json"], env);
      expect(after.code).toBe(0);
      expect(JSON.parse(after.out).changes).toEqual([]);
      expect(groupsOf(await serverRoster("gs-cli@a.test"))).toEqual({ "alice@a.test": ["Friends", "Staff"], "bob@b.test": [], "ops@c.test": ["Staff"] });

      const audit = readFileSync(path.join(tmp.dir, "data", "audit.log"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
      expect(audit.filter((l) => l.by === "group-sync").map((l) => `${l.jid} ${l.ok}`).sort()).toEqual(["alice@a.test true", "bob@b.test true", `${breakJid} false`, "ops@c.test true"].sort());
    } finally {
      tmp.remove();
    }
  }, 60_000);

  it("plan with a config of several bots asks for --bot", async () => {
    const tmp = tempDir("gs-cli2-");
    try {
      const file = tmp.write("c.yaml", lines("bots:", "  - { id: one, jid: one@a.test, password: '${GS_CLI_PW}', service: 'xmpp://127.0.0.1:1', plugins: { roster: {} } }", "  - { id: two, jid: two@a.test, password: '${GS_CLI_PW}', service: 'xmpp://127.0.0.1:1', plugins: { roster: {} } }"));
      const r = await cli(["plan", "--config", file], { GS_CLI_PW: "x" });
      expect(r.code).toBe(2);
      expect(r.err).toContain("2 bots load the roster plugin (one, two); choose one with --bot ID");
    } finally {
      tmp.remove();
    }
  });
});
