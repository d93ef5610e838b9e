/**
 * `npm run demo`: roster-bot's main job end to end, in under a minute: a private Prosody, the bot
 * (`roster-bot run` with examples/configs/demo.yaml), a crowd of contacts asking for its presence,
 * an admin who approves a held request and runs a group sync by chat, then who got what and why.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { ProsodyServer } from "./prosody.ts";
import type { XmlElement } from "../bots/xmpp.ts";
import { TestClient, xml } from "./xmpp-client.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const CONFIG = path.join(ROOT, "examples", "configs", "demo.yaml");
const BOT = "bot@company.test";
const ADMIN = "admin@company.test";

interface Member {
  jid: string;
  role: string;
  expect: string;
}

const CROWD: Member[] = [
  { jid: "alice@company.test", role: "colleague", expect: "mutual" },
  { jid: "bob@company.test", role: "colleague", expect: "mutual" },
  { jid: "carol@partner.test", role: "partner", expect: "accept" },
  { jid: "dave@partner.test", role: "partner", expect: "accept" },
  { jid: "erin@visitor.test", role: "visitor", expect: "ask, then approved by the admin" },
  { jid: "frank@stranger.test", role: "stranger", expect: "reject (default)" },
  { jid: "spam7@stranger.test", role: "spammer", expect: "reject" },
  { jid: "mallory@spam.test", role: "spammer", expect: "reject" },
];

const say = (text: string) => console.log(`\n▶ ${text}`);
const note = (text: string) => console.log(`  ${text}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd();
  return [line(rows[0]!), widths.map((w) => "-".repeat(w)).join("  "), ...rows.slice(1).map(line)].join("\n");
}

async function main(): Promise<number> {
  const started = Date.now();
  console.log("roster-bot demo: a contact-policy bot deciding who may see its presence, and grouping its contacts.");

  say("Starting a private XMPP server (Prosody) with five domains on a free loopback port");
  const server = await ProsodyServer.start({ hosts: ["company.test", "partner.test", "visitor.test", "stranger.test", "spam.test"] });
  const dataDir = mkdtempSync(path.join(os.tmpdir(), "roster-bot-demo-"));
  const botPassword = `demo-${Math.random().toString(36).slice(2)}`;
  server.createAccount("bot", "company.test", botPassword);
  for (const jid of [ADMIN, ...CROWD.map((m) => m.jid)]) {
    const [user, host] = jid.split("@") as [string, string];
    server.createAccount(user, host, "pw");
  }
  note(`${server.service}: the bot ${BOT}, the admin ${ADMIN} and ${CROWD.length} contacts`);

  let bot: ChildProcess | undefined;
  const clients: TestClient[] = [];
  try {
    say("Starting the bot: roster-bot run --config examples/configs/demo.yaml");
    note("rules: spam patterns and spam.test reject · company.test mutual · *@partner.test accept · visitor.test ask · default reject");
    bot = spawn(process.execPath, [path.join(ROOT, "bin", "roster-bot.js"), "run", "--config", CONFIG], {
      env: { ...process.env, DEMO_BOT_PASSWORD: botPassword, DEMO_SERVICE: server.service, DEMO_DATA_DIR: dataDir },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let botErr = "";
    bot.stderr?.on("data", (d) => (botErr += d));
    await waitForBotOnline(server);
    note("the bot is online: it fetched its roster, then sent its presence");

    say("The admin logs in (a person on a phone, say)");
    const admin = await TestClient.connect({ service: server.service, jid: ADMIN, password: "pw", roster: true, presence: true });
    clients.push(admin);
    const chat = (body: string) => admin.send(xml("message", { to: BOT, type: "chat" }, xml("body", {}, body)));
    const nextReply = (ms = 5_000) => admin.waitFor((s) => s.name === "message" && !!s.getChildText("body") && s.attrs.from?.startsWith(BOT) === true, ms);

    say(`${CROWD.length} contacts ask to see the bot's presence at the same moment`);
    const members = await Promise.all(
      CROWD.map(async (m) => {
        const c = await TestClient.connect({ service: server.service, jid: m.jid, password: "pw", roster: true, presence: true });
        clients.push(c);
        // Like a normal client, approve the bot's own request when it asks back (mutual).
        c.client.on("stanza", (s: XmlElement) => {
          if (s.name === "presence" && s.attrs.type === "subscribe" && s.attrs.from?.startsWith(BOT)) void c.presence(BOT, "subscribed");
        });
        return { ...m, client: c };
      }),
    );
    const adminNotice = nextReply(8_000);
    const outcomes = new Map<string, string>();
    await Promise.all(
      members.map(async (m) => {
        const answer = m.client.waitFor((s) => s.name === "presence" && (s.attrs.type === "subscribed" || s.attrs.type === "unsubscribed") && s.attrs.from?.startsWith(BOT) === true, 3_000);
        await m.client.presence(BOT, "subscribe");
        const got = await answer.catch(() => undefined);
        outcomes.set(m.jid, got ? (got.attrs.type === "subscribed" ? "approved" : "refused") : "no answer yet");
      }),
    );
    for (const m of members) note(`${m.jid.padEnd(22)} ${outcomes.get(m.jid)}`);

    say("erin@visitor.test was held (action: ask); the admin gets a chat message and answers it");
    const notice = await adminNotice;
    note(`bot → admin: ${notice.getChildText("body")!.split("\n")[0]}`);
    const erin = members.find((m) => m.jid === "erin@visitor.test")!;
    const erinApproved = erin.client.waitFor((s) => s.name === "presence" && s.attrs.type === "subscribed" && s.attrs.from?.startsWith(BOT) === true, 5_000);
    await chat("approve erin@visitor.test");
    note(`admin → bot: approve erin@visitor.test`);
    note(`bot → admin: ${(await nextReply()).getChildText("body")!.split("\n")[0]}`);
    await erinApproved;
    outcomes.set("erin@visitor.test", "approved");
    note("erin@visitor.test now receives the bot's presence");

    say("The admin asks for a group sync by chat: roster groups follow the declared rules");
    await sleep(300);
    await chat("sync");
    note(`admin → bot: sync`);
    note(`bot → admin: ${(await nextReply(10_000)).getChildText("body")!.split("\n").join(" | ")}`);
    note("(each accepted contact already got its group from the roster push that added it: nothing was left to fix)");

    say("Result");
    const roster = await readRoster(server, botPassword);
    const decisions = readDecisions(dataDir);
    const rows = [["contact", "domain", "decision", "decided by", "answer", "groups"]];
    for (const m of CROWD) {
      const d = decisions.get(m.jid);
      rows.push([
        m.jid,
        m.jid.split("@")[1]!,
        d?.action ?? "-",
        d ? (d.rule ? `rule ${d.rule}` : d.decidedBy) : "-",
        outcomes.get(m.jid) ?? "-",
        (roster.get(m.jid) ?? []).join(", ") || "-",
      ]);
    }
    console.log("\n" + table(rows));
    console.log("\n  Every decision and roster change is also in the bot's audit log, one JSON line each, e.g.:");
    for (const line of readFileSync(path.join(dataDir, "audit.log"), "utf8").split("\n").slice(0, 2)) note(line);
    if (botErr.trim()) note(`bot stderr: ${botErr.trim().slice(0, 500)}`);
    say(`Done in ${((Date.now() - started) / 1000).toFixed(1)} s. Stopping the bot (SIGTERM), the clients and the server.`);
    return 0;
  } finally {
    await Promise.all(clients.map((c) => c.stop()));
    if (bot && bot.exitCode === null) {
      const exited = new Promise<number | null>((r) => bot!.once("exit", (code) => r(code)));
      bot.kill("SIGTERM");
      const code = await exited;
      note(`the bot exited with code ${code}`);
    }
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function waitForBotOnline(server: ProsodyServer): Promise<void> {
  const deadline = Date.now() + 20_000;
  const probe = await TestClient.connect({ service: server.service, jid: ADMIN, password: "pw", resource: "probe" });
  try {
    while (Date.now() < deadline) {
      const pong = await probe.client.iqCaller
        .request(xml("iq", { type: "get", to: `${BOT}/roster-bot` }, xml("ping", { xmlns: "urn:xmpp:ping" })), 1_000)
        .then(() => true)
        .catch(() => false);
      if (pong) return;
      await sleep(200);
    }
    throw new Error("the bot did not come online within 20 s");
  } finally {
    await probe.stop();
  }
}

async function readRoster(server: ProsodyServer, password: string): Promise<Map<string, string[]>> {
  const viewer = await TestClient.connect({ service: server.service, jid: BOT, password, resource: "demo-viewer" });
  try {
    const reply = await viewer.rosterGet();
    const out = new Map<string, string[]>();
    for (const item of reply.getChild("query", "jabber:iq:roster")?.getChildren("item") ?? []) {
      out.set(item.attrs.jid!, item.getChildren("group").map((g) => g.text()));
    }
    return out;
  } finally {
    await viewer.stop();
  }
}

function readDecisions(dataDir: string): Map<string, { action: string; decidedBy: string; rule?: string }> {
  const out = new Map<string, { action: string; decidedBy: string; rule?: string }>();
  let text: string;
  try {
    text = readFileSync(path.join(dataDir, "audit.log"), "utf8");
  } catch {
    return out;
  }
  for (const line of text.split("\n")) {
    if (!line) continue;
    const d = JSON.parse(line) as { kind: string; from?: string; action?: string; decidedBy?: string; rule?: string };
    if (d.kind !== "decision" || !d.from) continue;
    const previous = out.get(d.from);
    // A held request answered later: show both steps.
    const action = previous?.action === "ask" ? `ask → ${d.action}` : d.action!;
    const decidedBy = previous?.action === "ask" ? `${previous.rule ? `rule ${previous.rule}` : previous.decidedBy} → ${d.decidedBy}` : d.decidedBy!;
    out.set(d.from, { action, decidedBy, rule: previous?.action === "ask" ? undefined : d.rule });
  }
  return out;
}

process.exitCode = await main().catch((err) => {
  console.error(`demo failed: ${(err as Error).stack ?? err}`);
  return 1;
});
