/**
 * Reconnection against a real Prosody that is restarted, stopped for a while, or that drops the
 * bot's socket: new sessions, growing backoff, stream resumption, and a permanent failure.
 */
import net from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { definePlugin } from "../../bots/plugin.ts";
import type { BotRuntime } from "../../bots/runtime.ts";
import { startServer, type XmppTestServer } from "../../scripts/xmpp-server.ts";
import { TestClient, xml } from "../../scripts/xmpp-client.ts";
import { startTestBot, type LogCapture } from "../helpers/bot.ts";
import { until } from "../helpers/wait.ts";

let server: XmppTestServer;

beforeAll(async () => {
  server = await startServer();
  server.createAccount("alice", "b.test", "pw");
});
afterAll(async () => {
  await server?.stop();
});
// A test that failed while the server was stopped must not take the next tests down with it.
afterEach(async () => {
  if (server && !(await listening(server.port))) await server.restart();
});

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function next(emitter: { once(e: string, f: (...a: unknown[]) => void): unknown }, event: string, timeoutMs = 15_000): Promise<unknown[]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "${event}" within ${timeoutMs} ms`)), timeoutMs);
    emitter.once(event, (...args) => {
      clearTimeout(timer);
      resolve(args);
    });
  });
}

function recordingEcho(events: string[]) {
  return definePlugin({
    name: "echo",
    apply(ctx) {
      ctx.onSession(() => void events.push("session"));
      ctx.onResumed(() => void events.push("resumed"));
      ctx.onOffline(() => void events.push("offline"));
      ctx.on("message", async (stanza) => {
        const body = stanza.getChildText("body");
        if (!body || stanza.attrs.type === "error") return;
        await ctx.send(xml("message", { to: stanza.attrs.from, type: "chat" }, xml("body", {}, `echo: ${body}`)));
      });
    },
  });
}

async function assertEchoes(runtime: BotRuntime, body: string): Promise<void> {
  const alice = await TestClient.connect({ service: server.service, jid: "alice@b.test", password: "pw", resource: `r${Date.now()}` });
  try {
    await alice.send(xml("message", { to: runtime.connection.fullJid, type: "chat" }, xml("body", {}, body)));
    const reply = await alice.waitFor((s) => s.name === "message" && s.getChildText("body") === `echo: ${body}`, 5_000);
    expect(reply.attrs.from).toBe(runtime.connection.fullJid);
  } finally {
    await alice.stop();
  }
}

/** One line when the session drops, then one per failed attempt, each with the delay to the next. */
function reconnectLines(logs: LogCapture, from = 0) {
  return logs.lines.slice(from).filter((l) => l.msg === "disconnected; reconnecting" || l.msg === "reconnect failed; retrying") as {
    msg: string;
    delayMs: number;
    attempt?: number;
  }[];
}

describe("reconnect", () => {
  it("gets a new session after the server restarts, and still routes messages", async () => {
    const events: string[] = [];
    const { runtime, logs } = await startTestBot({ server, user: "restart-bot", plugins: [{ definition: recordingEcho(events) }] });
    try {
      await assertEchoes(runtime, "before");
      const offline = next(runtime.connection, "offline");
      const ready = next(runtime, "ready");
      await server.restart();
      await offline;
      await ready;
      expect(runtime.connection.isOnline).toBe(true);
      // A restarted server has lost the stream-management session: a new session, not a resume.
      expect(events).toEqual(["session", "offline", "session"]);
      expect(logs.find((l) => l.msg === "disconnected; reconnecting")).toBeDefined();
      await assertEchoes(runtime, "after");
    } finally {
      await runtime.stop();
    }
  });

  it("backs off with growing delays while the server is down, then reconnects and starts over", async () => {
    const events: string[] = [];
    const { runtime, logs } = await startTestBot({ server, user: "backoff-bot", plugins: [{ definition: recordingEcho(events) }] });
    try {
      const from = logs.lines.length;
      await server.stopProcess();
      // initialDelay 100 ms, maxDelay 1 s: ceilings 100, 200, 400, 800, 1000, ...
      await until(() => reconnectLines(logs, from).length >= 5, 15_000, "five reconnect attempts");
      const down = reconnectLines(logs, from);
      const delays = down.map((l) => l.delayMs);
      expect(down[0]!.msg).toBe("disconnected; reconnecting");
      expect(down.slice(1, 5).map((l) => [l.msg, l.attempt])).toEqual([1, 2, 3, 4].map((n) => ["reconnect failed; retrying", n]));
      // One line per attempt: nothing else at warn or above while the attempts fail.
      const during = logs.lines.slice(logs.lines.indexOf(down[0]!), logs.lines.indexOf(down[4]!) + 1);
      expect(during.filter((l) => (l.level as number) >= 40)).toEqual(down.slice(0, 5));
      expect(delays[0]).toBeGreaterThanOrEqual(50);
      expect(delays[0]).toBeLessThanOrEqual(100);
      expect(delays[1]).toBeGreaterThanOrEqual(100);
      expect(delays[2]).toBeGreaterThanOrEqual(200);
      expect(delays[3]).toBeGreaterThanOrEqual(400);
      for (let i = 1; i < 4; i++) expect(delays[i]).toBeGreaterThanOrEqual(delays[i - 1]!);
      for (const d of delays) expect(d).toBeLessThanOrEqual(1_000);
      // The offline handlers ran once for the lost session, not once per failed attempt.
      expect(events).toEqual(["session", "offline"]);

      const ready = next(runtime, "ready");
      await server.restart();
      await ready;
      expect(events).toEqual(["session", "offline", "session"]);
      await assertEchoes(runtime, "back again");

      // The backoff starts over after a successful reconnect.
      const from2 = logs.lines.length;
      const ready2 = next(runtime, "ready");
      await server.restart();
      await ready2;
      const again = reconnectLines(logs, from2);
      expect(again[0]).toMatchObject({ msg: "disconnected; reconnecting" });
      expect(again[0]!.delayMs).toBeLessThanOrEqual(100);
    } finally {
      await runtime.stop();
    }
  });

  it("resumes the stream after the socket drops (stream management), without a new session", async () => {
    const events: string[] = [];
    const { runtime, logs } = await startTestBot({ server, user: "resume-bot", plugins: [{ definition: recordingEcho(events) }] });
    try {
      const sm = runtime.connection.client.streamManagement;
      // Stream management is enabled right after binding: wait for the server's <enabled/>.
      await until(() => sm.enabled && sm.id !== "", 5_000, "stream management enabled");
      const jid = runtime.connection.fullJid;
      const resumed = next(runtime.connection, "resumed");
      runtime.connection.client.socket!.destroy();
      await resumed;
      await until(() => runtime.connection.isOnline, 5_000, "online after resume");
      expect(events).toEqual(["session", "offline", "resumed"]);
      expect(logs.find((l) => l.msg === "stream resumed")).toBeDefined();
      expect(runtime.connection.fullJid).toBe(jid);
      await assertEchoes(runtime, "resumed");
    } finally {
      await runtime.stop();
    }
  });

  it("stops with a fatal error when the password no longer works at reconnect", async () => {
    const events: string[] = [];
    const { runtime, logs } = await startTestBot({ server, user: "revoked-bot", plugins: [{ definition: recordingEcho(events) }] });
    try {
      const fatal = next(runtime, "fatal");
      // The password changes while the server runs, then the restart drops the session. (A change
      // made while it is stopped is written only after its port opens on ejabberd: the bot's next
      // attempt could log in with the old password first.)
      server.createAccount("revoked-bot", "a.test", "a-new-password");
      await server.restart();
      const [err] = (await fatal) as [Error & { condition?: string }];
      expect(err.condition).toBe("not-authorized");
      expect(logs.find((l) => l.msg === "reconnect failed permanently")).toBeDefined();
      // No more attempts after a permanent failure.
      const count = reconnectLines(logs).length;
      await sleep(1_500);
      expect(reconnectLines(logs).length).toBe(count);
      expect(runtime.connection.isOnline).toBe(false);
    } finally {
      await runtime.stop();
    }
  });
});
