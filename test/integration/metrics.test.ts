/**
 * The HTTP endpoints of `roster-bot run` (a separate process) against a real Prosody: /metrics
 * after known decisions, a group sync and a reconnect, counted exactly; /readyz while the server is
 * down and after it is back.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../scripts/prosody.ts";
import { startServer, type XmppTestServer } from "../../scripts/xmpp-server.ts";
import { TestClient } from "../../scripts/xmpp-client.ts";
import { lines, REPO_ROOT, tempDir, type TempDir } from "../helpers/tmp.ts";
import { until } from "../helpers/wait.ts";

const BIN = path.join(REPO_ROOT, "bin/roster-bot.js");
const PASSWORD = "metrics-bot-pw";

let server: XmppTestServer;
let tmp: TempDir;
let bot: ChildProcess | undefined;
let output = "";
let base = "";
let configFile = "";

beforeAll(async () => {
  server = await startServer();
  server.createAccount("mbot", "a.test", PASSWORD);
  // Two contacts the group rules put in "Staff": the first sync updates both.
  server.writeRoster("mbot", "a.test", [
    { jid: "x1@a.test", subscription: "both", groups: [] },
    { jid: "x2@a.test", subscription: "both", groups: ["Staff"] },
    { jid: "x3@a.test", subscription: "both", groups: ["Golf"] },
  ]);
  tmp = tempDir("metrics-e2e-");
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  const file = (configFile = tmp.write(
    "bot.config.yaml",
    lines(
      "log: { level: info }",
      `http: { listen: ${port} }`,
      "bots:",
      "  - id: mbot",
      "    jid: mbot@a.test",
      "    password: ${MBOT_PASSWORD}",
      `    service: ${server.service}`,
      "    tls: plaintext-loopback",
      "    reconnect: { initialDelay: 100ms, maxDelay: 500ms }",
      "    plugins:",
      "      roster:",
      "        cache: false",
      "        subscriptions:",
      "          default: reject",
      "          rules:",
      "            - { name: friends, match: { domain: b.test }, action: accept }",
      "        groups:",
      "          managed: [Staff]",
      "          assign:",
      "            - { group: Staff, match: { domain: a.test } }",
    ),
  ));
  bot = spawn(process.execPath, [BIN, "run", "--config", file], {
    cwd: tmp.dir,
    env: { ...process.env, MBOT_PASSWORD: PASSWORD, XMPP_DEBUG: "", ROSTER_BOT_CONFIG: "" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  bot.stdout!.on("data", (d: Buffer) => (output += d.toString()));
  bot.stderr!.on("data", (d: Buffer) => (output += d.toString()));
});

afterAll(async () => {
  if (bot && bot.exitCode === null) {
    const exited = new Promise((r) => bot!.once("exit", r));
    bot.kill("SIGTERM");
    await exited;
  }
  tmp?.remove();
  await server?.stop();
});

async function get(p: string): Promise<{ status: number; body: string }> {
  const res = await fetch(base + p);
  return { status: res.status, body: await res.text() };
}

/** Polls an endpoint until `check` holds on its answer. */
async function poll(p: string, check: (r: { status: number; body: string }) => boolean, ms: number, what: string) {
  const end = Date.now() + ms;
  let last: { status: number; body: string } | undefined;
  for (;;) {
    last = await get(p).catch(() => undefined);
    if (last && check(last)) return last;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}; last answer: ${JSON.stringify(last)}\noutput:\n${output}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Every sample of the scrape whose name starts with `roster_bot_`, as "name{labels} value". */
function rosterSamples(scrape: string): string[] {
  return scrape.split("\n").filter((l) => l.startsWith("roster_bot_") && !/^roster_bot_decision_seconds_(bucket|sum)/.test(l));
}

async function contact(jid: string): Promise<TestClient> {
  const [user, host] = jid.split("@") as [string, string];
  server.createAccount(user, host, "pw");
  return TestClient.connect({ service: server.service, jid, password: "pw", roster: true, presence: true });
}

async function ask(jid: string): Promise<string> {
  const c = await contact(jid);
  try {
    const answer = c.waitFor((s) => s.name === "presence" && s.attrs.from?.split("/")[0] === "mbot@a.test" && ["subscribed", "unsubscribed"].includes(s.attrs.type ?? ""), 10_000);
    await c.presence("mbot@a.test", "subscribe");
    return (await answer).attrs.type!;
  } finally {
    await c.stop();
  }
}

describe("roster-bot run with http", () => {
  it("answers /healthz, and /readyz 200 once the bot has a session and its roster", async () => {
    await poll("/healthz", (r) => r.status === 200, 20_000, "/healthz");
    const ready = await poll("/readyz", (r) => r.status === 200, 20_000, "/readyz 200");
    expect(JSON.parse(ready.body)).toEqual({ ready: true, bots: { mbot: { ready: true, state: "online", checks: { "roster loaded": true } } } });
    expect((await get("/nothing")).status).toBe(404);
  });

  it("counts decisions, the group sync and a reconnect exactly", async () => {
    // The first sync (trigger "loaded") put x1 into Staff and x3 into Staff beside Golf.
    await poll("/metrics", (r) => r.body.includes('roster_bot_group_sync_changes_total{bot="mbot",op="update",result="applied"} 2'), 10_000, "the first group sync");
    expect(await ask("f1@b.test")).toBe("subscribed");
    expect(await ask("f2@b.test")).toBe("subscribed");
    expect(await ask("s1@c.test")).toBe("unsubscribed");

    // The server stops: /readyz says so within a few seconds, with the bot's state.
    await server.stopProcess();
    const down = Date.now();
    const notReady = await poll("/readyz", (r) => r.status === 503, 5_000, "/readyz 503");
    const waited = Date.now() - down;
    expect(waited).toBeLessThan(5_000);
    expect(JSON.parse(notReady.body)).toEqual({ ready: false, bots: { mbot: { ready: false, state: "offline", checks: { "roster loaded": false } } } });
    expect((await get("/healthz")).status).toBe(200); // the process still serves
    expect((await get("/metrics")).body).toContain('roster_bot_connected{bot="mbot"} 0');

    await server.restart();
    await poll("/readyz", (r) => r.status === 200, 20_000, "/readyz 200 after the restart");

    const scrape = (await get("/metrics")).body;
    expect(rosterSamples(scrape).sort()).toEqual(
      [
        'roster_bot_connected{bot="mbot"} 1',
        'roster_bot_reconnects_total{bot="mbot"} 1',
        'roster_bot_subscription_decisions_total{bot="mbot",action="accept",decided_by="rules",rule="friends"} 2',
        'roster_bot_subscription_decisions_total{bot="mbot",action="reject",decided_by="default",rule=""} 1',
        'roster_bot_decision_seconds_count{bot="mbot"} 3',
        'roster_bot_rate_limited_total{bot="mbot"} 0',
        'roster_bot_audit_write_failures_total{bot="mbot"} 0',
        'roster_bot_group_sync_changes_total{bot="mbot",op="update",result="applied"} 2',
        'roster_bot_pending_requests{bot="mbot"} 0',
        // Three seeded, two accepted (subscription "from"); the rejected sender has no item.
        'roster_bot_roster_items{bot="mbot"} 5',
        // Both servers advertise XEP-0191; nothing was blocked.
        'roster_bot_blocklist_entries{bot="mbot",owned="true"} 0',
        'roster_bot_blocklist_entries{bot="mbot",owned="false"} 0',
      ].sort(),
    );
    expect(scrape).toMatch(/^roster_bot_decision_seconds_bucket\{le="\+Inf",bot="mbot"\} 3$/m);
    expect(scrape).toMatch(/^roster_bot_decision_seconds_sum\{bot="mbot"\} 0\.\d+$/m);
    // Default process metrics, and never a JID in a label.
    expect(scrape).toMatch(/^process_cpu_user_seconds_total \d/m);
    expect(scrape).toMatch(/^nodejs_heap_size_used_bytes \d/m);
    expect(scrape).not.toContain("@");
  });

  it("a second run on the same port stops at once with one line; a changed http section needs a restart; SIGTERM closes the endpoints", async () => {
    const second = spawn(process.execPath, [BIN, "run", "--config", configFile], {
      cwd: tmp.dir,
      env: { ...process.env, MBOT_PASSWORD: PASSWORD, XMPP_DEBUG: "", ROSTER_BOT_CONFIG: "" },
      stdio: ["ignore", "ignore", "pipe"],
    });
    let err = "";
    second.stderr.on("data", (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((r) => second.once("exit", r));
    expect(code).toBe(1);
    expect(err).toBe(`roster-bot: http.listen ${base.slice("http://".length)}: cannot listen: the port is in use\n`);

    // A reload keeps serving where it did and says the change needs a restart.
    const port = Number(base.split(":").pop());
    tmp.write("bot.config.yaml", readFileSync(configFile, "utf8").replace(`listen: ${port}`, `listen: ${port + 1}`));
    await until(() => output.includes("the http section changed; restart to apply it"), 10_000, "the reload's warning");
    expect((await get("/healthz")).status).toBe(200);

    const exited = new Promise<number | null>((r) => bot!.once("exit", r));
    bot!.kill("SIGTERM");
    expect(await exited).toBe(0);
    await expect(fetch(base + "/healthz")).rejects.toThrow();
  });
});
