/**
 * Fault: Prosody restarts in the middle of a burst of 1,000 subscription requests to the bot (the real
 * CLI, its own process). The bot reconnects with backoff, and Prosody redelivers the requests it still
 * holds when the bot sends initial presence again (RFC 6121 §3.1.3). Every request must end decided
 * as its rule says: seen from each contact's roster, the bot's roster, the bot's account (nothing
 * redelivered) and audit.log (a redelivered request may be decided twice, always the same way).
 */
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ProsodyServer } from "../../scripts/prosody.ts";
import { TestClient, xml } from "../../scripts/xmpp-client.ts";
import { tempDir, type TempDir } from "../helpers/tmp.ts";
import { bareOf, connectCrowd, countLines, readAudit, rosterItems, serverRoster, sleep, spawnBot, yamlConfig, type BotProcess } from "./support.ts";

const CROWD = 1_000;
const BOT_USER = "burstbot";
const BOT = `${BOT_USER}@a.test`;
const BOT_PASSWORD = "burst-bot-password";
/** Restart once the bot has decided this many requests (a quarter of the burst). */
const RESTART_AFTER = 250;
/** The directory plugin takes up to this long per request, so decisions spread out in time. */
const LOOKUP_MS = 3_000;

type Action = "accept" | "mutual" | "reject";
/** Contact i's domain and the action its rule gives. */
const KINDS: { host: string; action: Action }[] = [
  { host: "acc.test", action: "accept" },
  { host: "acc.test", action: "accept" },
  { host: "mut.test", action: "mutual" },
  { host: "rej.test", action: "reject" },
  { host: "other.test", action: "reject" }, // no rule: default reject
];
const jids = Array.from({ length: CROWD }, (_, i) => `c${i}@${KINDS[i % KINDS.length]!.host}`);
const expectedAction = (i: number): Action => KINDS[i % KINDS.length]!.action;

let server: ProsodyServer;
let tmp: TempDir;
let bot: BotProcess | undefined;
const clients: TestClient[] = [];

beforeAll(async () => {
  server = await ProsodyServer.start({ hosts: ["a.test", "acc.test", "mut.test", "rej.test", "other.test"], logLevel: "warn" });
  server.createAccount(BOT_USER, "a.test", BOT_PASSWORD);
  tmp = tempDir("fault-restart-");
  // A plugin that looks every requester up somewhere slow (0–3 s) and then leaves the decision to
  // the rules: many requests are being decided, in the bot, when the connection drops.
  tmp.write(
    "slow-directory.ts",
    [
      'import { definePlugin } from "../../bots/plugin.ts";',
      "export default definePlugin({",
      '  name: "slow-directory",',
      '  dependencies: ["roster"],',
      "  apply(ctx) {",
      '    const roster = ctx.use("roster");',
      `    ctx.tap(roster.hooks.subscriptionRequest, async () => { await new Promise((r) => setTimeout(r, Math.random() * ${LOOKUP_MS})); return undefined; }, { order: -10 });`,
      "  },",
      "});",
      "",
    ].join("\n"),
  );
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.stop()));
  await bot?.kill9();
  await server?.stop();
  tmp?.remove();
});

describe("server restart in the middle of a 1,000-request burst", () => {
  it("decides every request per policy after the bot reconnects: none lost, none against the rules", async () => {
    const dataDir = path.join(tmp.dir, "data");
    const auditFile = path.join(dataDir, "audit.log");
    const config = yamlConfig(tmp.write, "bot.config.yaml", {
      log: { level: "info" },
      bots: [
        {
          id: "burst",
          jid: BOT,
          password: "${BURST_BOT_PASSWORD}",
          service: server.service,
          tls: "plaintext-loopback",
          dataDir: "./data",
          reconnect: { initialDelay: "100ms", maxDelay: "1s" },
          plugins: {
            roster: {
              subscriptions: {
                default: "reject",
                rules: [
                  { name: "accepted", match: { domain: "acc.test" }, action: "accept" },
                  { name: "mutual", match: { domain: "mut.test" }, action: "mutual" },
                  { name: "rejected", match: { domain: "rej.test" }, action: "reject" },
                ],
              },
            },
            "./slow-directory.ts": {},
          },
        },
      ],
    });
    bot = spawnBot(["run", "--config", config], { cwd: tmp.dir, logFile: path.join(tmp.dir, "bot.log"), env: { BURST_BOT_PASSWORD: BOT_PASSWORD } });
    await bot.waitForOutput(/"msg":"session ready"/);

    let t = Date.now();
    const crowd = await connectCrowd(server, jids);
    clients.push(...crowd);
    const loginMs = Date.now() - t;

    // The burst. The server acknowledges each request to its sender with a roster push (ask=subscribe)
    // once it has stored it; when all are stored and a quarter is decided, the server restarts.
    t = Date.now();
    const stored = crowd.map((c) =>
      c.waitFor((s) => s.name === "iq" && s.attrs.type === "set" && s.getChild("query")?.getChild("item")?.attrs.ask === "subscribe", 60_000),
    );
    for (const c of crowd) c.presence(BOT, "subscribe").catch(() => {});
    await Promise.all(stored);
    const storedMs = Date.now() - t;
    for (;;) {
      if (countLines(auditFile, '"kind":"decision"') >= RESTART_AFTER) break;
      if (Date.now() - t > 60_000) throw new Error(`fewer than ${RESTART_AFTER} decisions within 60 s`);
      await sleep(5);
    }
    const decidedAtRestart = countLines(auditFile, '"kind":"decision"');
    const restartStarted = Date.now();
    await server.restart();
    const restartMs = Date.now() - restartStarted;

    // The bot reconnects by itself (a new session: the server lost the stream-management state).
    await bot.waitForOutput(/"msg":"session ready"[\s\S]*"msg":"session ready"/, 60_000);
    expect(bot.output()).toContain('"msg":"disconnected; reconnecting"');

    // The contacts' connections dropped too: they log in again (a new session each).
    await Promise.all(crowd.map((c) => c.stop()));
    clients.length = 0;
    t = Date.now();
    // (No initial presence this time: only the roster is read, and the busy server is spared the
    // presence broadcasts.)
    const again = await connectCrowd(server, jids, { resource: "again", presence: false });
    clients.push(...again);
    const reloginMs = Date.now() - t;

    const itemFor = async (c: TestClient) => rosterItems(await c.client.iqCaller.request(xml("iq", { type: "get" }, xml("query", { xmlns: "jabber:iq:roster" })), 30_000)).get(BOT);
    const final = new Map<number, { subscription: string; ask?: string } | undefined>();
    let resent = 0;
    await Promise.all(
      again.map(async (c) => {
        const item = await itemFor(c);
        if (!item) {
          // The request never reached the server before it went down: the contact asks again.
          resent++;
          await c.presence(BOT, "subscribe");
        }
      }),
    );
    const deadline = Date.now() + 90_000;
    let open: number[] = [...again.keys()];
    while (open.length > 0 && Date.now() < deadline) {
      const items = await Promise.all(open.map((i) => itemFor(again[i]!)));
      open = open.filter((i, k) => {
        const item = items[k];
        if (item && !item.ask) {
          final.set(i, item);
          return false;
        }
        return true;
      });
      if (open.length) await sleep(500);
    }
    const settledMs = Date.now() - restartStarted;
    const readyTimes = bot.logLines().filter((l) => l.msg === "session ready").map((l) => Number(l.time));
    expect(open.map((i) => jids[i]), "requests still open (never decided)").toEqual([]);

    // 1. Each contact's answer is what its rule says.
    const wrong: string[] = [];
    for (let i = 0; i < CROWD; i++) {
      const item = final.get(i)!;
      const want = expectedAction(i) === "reject" ? ["none"] : ["to", "both"];
      if (!want.includes(item.subscription)) wrong.push(`${jids[i]}: ${item.subscription} (rule: ${expectedAction(i)})`);
    }
    expect(wrong).toEqual([]);

    // 2. Nothing is left pending on the bot's account: a new resource with initial presence gets
    //    no request redelivered.
    const checker = await TestClient.connect({ service: server.service, jid: BOT, password: BOT_PASSWORD, resource: "checker", roster: true, presence: true });
    clients.push(checker);
    await sleep(1_500);
    const redelivered = checker.received.filter((s) => s.name === "presence" && s.attrs.type === "subscribe").map((s) => bareOf(s.attrs.from));
    expect(redelivered).toEqual([]);

    // 3. The bot's side of the roster: `from` exactly for the accepted contacts, and every mutual
    //    contact asked back (mutual sends `subscribe` before `subscribed`, so a drop between the
    //    two leaves the request pending and it is decided again after the reconnect).
    const botRoster = await serverRoster(server, BOT, BOT_PASSWORD);
    const sideWrong: string[] = [];
    let askedBack = 0;
    for (let i = 0; i < CROWD; i++) {
      const item = botRoster.get(jids[i]!);
      const subscribed = item?.subscription === "from" || item?.subscription === "both";
      if (subscribed !== (expectedAction(i) !== "reject")) sideWrong.push(`${jids[i]}: ${item?.subscription ?? "absent"} (rule: ${expectedAction(i)})`);
      if (expectedAction(i) === "mutual" && item?.ask === "subscribe") askedBack++;
    }
    expect(sideWrong).toEqual([]);
    expect(askedBack).toBe(CROWD / KINDS.length);

    // 4. The audit trail: a decision for every contact, none against its rule.
    const decisions = readAudit(auditFile).filter((l) => l.kind === "decision");
    const byJid = new Map<string, Set<string>>();
    for (const d of decisions) {
      if (!byJid.has(d.from!)) byJid.set(d.from!, new Set());
      byJid.get(d.from!)!.add(d.action!);
    }
    const auditWrong = jids.filter((j, i) => {
      const actions = byJid.get(j);
      return !actions || actions.size !== 1 || !actions.has(expectedAction(i));
    });
    expect(auditWrong).toEqual([]);
    expect(byJid.size).toBe(CROWD);
    expect(decisions.every((d) => d.decidedBy === "rules" || d.decidedBy === "default")).toBe(true);

    // The restart hit the burst: some requests were answered before it, some were being decided
    // when the connection dropped (their answers could not be sent), and the rest were decided
    // only after the bot reconnected and the server redelivered them.
    const secondSession = readyTimes[1]!;
    const answeredBefore = new Set(decisions.filter((d) => Date.parse(d.time) < restartStarted && d.sent!.length > 0).map((d) => d.from));
    const unsent = decisions.filter((d) => d.sent!.length === 0).length;
    const decidedAfter = new Set(decisions.filter((d) => Date.parse(d.time) >= secondSession).map((d) => d.from));
    const summary = {
      loginMs,
      storedMs,
      decidedAtRestart,
      restartMs,
      reconnectMs: secondSession - restartStarted,
      lastDecisionMs: Math.max(...decisions.map((d) => Date.parse(d.time))) - restartStarted,
      reloginMs,
      settledMsAfterRestart: settledMs,
      answeredBeforeRestart: answeredBefore.size,
      decidedButUnsent: unsent,
      decidedAfterReconnect: decidedAfter.size,
      decisionLines: decisions.length,
      uniqueDecided: byJid.size,
      resent,
      mutualAskedBack: `${askedBack}/${CROWD / KINDS.length}`,
    };
    console.log("restart-burst:", JSON.stringify(summary));
    expect(answeredBefore.size).toBeGreaterThan(0);
    expect(answeredBefore.size).toBeLessThan(CROWD);
    expect(decidedAfter.size).toBeGreaterThan(0);
    // Every request had reached the server before it went down: none had to be sent again.
    expect(resent).toBe(0);

    expect((await bot.stop()).code).toBe(0);
  });
});
