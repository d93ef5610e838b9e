/**
 * Helpers for the fault suite (test/faults): the bot as a separate process (its real CLI, so it can
 * be killed, restarted and measured from /proc), crowds of plain clients logged in quickly, the
 * audit log read back, and a loopback TCP relay that counts what the bot puts on the wire.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, existsSync, openSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { stringify } from "yaml";
import type { XmlElement } from "../../bots/xmpp.ts";
import type { ProsodyServer } from "../../scripts/prosody.ts";
import { TestClient, xml } from "../../scripts/xmpp-client.ts";
import { REPO_ROOT } from "../helpers/tmp.ts";

export const BIN = path.join(REPO_ROOT, "bin/roster-bot.js");
export const NS_ROSTER = "jabber:iq:roster";

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export function yamlConfig(write: (name: string, text: string) => string, name: string, config: unknown): string {
  return write(name, stringify(config, { lineWidth: 0 }));
}

export interface BotProcess {
  child: ChildProcess;
  pid: number;
  /** Everything the process wrote to stdout and stderr so far (read from its log file). */
  output(): string;
  /** Parsed JSON log lines so far (non-JSON lines, e.g. the --debug trace, are skipped). */
  logLines(): Record<string, unknown>[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  waitForOutput(re: RegExp, timeoutMs?: number): Promise<void>;
  count(re: RegExp): number;
  /** SIGTERM and wait (SIGKILL after 10 s). */
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill9(): Promise<void>;
}

/**
 * Runs `node bin/roster-bot.js <args>` with stdout and stderr going to `logFile` (so a busy bot's
 * log does not load the test process).
 */
export function spawnBot(args: string[], options: { cwd: string; logFile: string; env?: Record<string, string> }): BotProcess {
  const fd = openSync(options.logFile, "a");
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: options.cwd,
    env: { ...process.env, XMPP_DEBUG: "", ROSTER_BOT_CONFIG: "", ...options.env },
    stdio: ["ignore", fd, fd],
  });
  closeSync(fd);
  let done: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve((done = { code, signal }))),
  );
  const output = () => (existsSync(options.logFile) ? readFileSync(options.logFile, "utf8") : "");
  const proc: BotProcess = {
    child,
    pid: child.pid!,
    output,
    logLines: () =>
      output()
        .split("\n")
        .filter((l) => l.startsWith("{"))
        .flatMap((l) => {
          try {
            return [JSON.parse(l) as Record<string, unknown>];
          } catch {
            return [];
          }
        }),
    exited,
    async waitForOutput(re, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        if (re.test(output())) return;
        if (done) {
          await sleep(100);
          if (re.test(output())) return;
          throw new Error(`bot exited (${JSON.stringify(done)}) before printing ${re}; output:\n${output().slice(-3000)}`);
        }
        if (Date.now() > deadline) throw new Error(`no output matching ${re} within ${timeoutMs} ms; output:\n${output().slice(-3000)}`);
        await sleep(25);
      }
    },
    count: (re) => output().match(new RegExp(re.source, re.flags.includes("g") ? re.flags : re.flags + "g"))?.length ?? 0,
    async stop() {
      if (!done) {
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
        await exited;
        clearTimeout(timer);
      }
      return exited;
    },
    async kill9() {
      if (!done) {
        child.kill("SIGKILL");
        await exited;
      }
    },
  };
  return proc;
}

export interface AuditEntry {
  time: string;
  bot: string;
  kind: "decision" | "roster" | "block" | "unblock";
  from?: string;
  action?: string;
  decidedBy?: string;
  rule?: string;
  reason?: string;
  sent?: string[];
  op?: string;
  jid?: string;
  groups?: string[];
  ok?: boolean;
  error?: string;
  /** block / unblock lines: the entry's scope, who asked, and how it ended. */
  scope?: string;
  by?: string;
  result?: string;
}

/** The complete lines of an audit log (a line still being written is left out). */
export function readAudit(file: string): AuditEntry[] {
  if (!existsSync(file)) return [];
  const text = readFileSync(file, "utf8");
  const complete = text.slice(0, text.lastIndexOf("\n") + 1);
  return complete
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as AuditEntry);
}

/** Counts lines containing `needle` without parsing (cheap enough to poll). */
export function countLines(file: string, needle: string): number {
  if (!existsSync(file)) return 0;
  const text = readFileSync(file, "utf8");
  let n = 0;
  for (let i = text.indexOf(needle); i !== -1; i = text.indexOf(needle, i + needle.length)) n++;
  return n;
}

/**
 * Creates the accounts and logs them in, `batch` at a time (PLAIN on loopback: a SCRAM login
 * costs far more CPU). Each requests its roster and sends initial presence unless told otherwise.
 */
export async function connectCrowd(
  server: ProsodyServer,
  jids: readonly string[],
  options: { password?: string; batch?: number; resource?: string; roster?: boolean; presence?: boolean } = {},
): Promise<TestClient[]> {
  const password = options.password ?? "pw";
  const batch = options.batch ?? 50;
  const clients: TestClient[] = new Array(jids.length);
  for (let i = 0; i < jids.length; i += batch) {
    await Promise.all(
      jids.slice(i, i + batch).map(async (jid, k) => {
        const [user, host] = jid.split("@") as [string, string];
        server.createAccount(user, host, password);
        // A busy server (one that just restarted and is redelivering a burst) may answer a stream
        // open late: try again a few times.
        for (let attempt = 1; ; attempt++) {
          try {
            clients[i + k] = await TestClient.connect({
              service: server.service,
              jid,
              password,
              resource: options.resource ?? "crowd",
              roster: options.roster ?? true,
              presence: options.presence ?? true,
            });
            break;
          } catch (err) {
            if (attempt >= 8) throw err;
            await sleep(250 * attempt);
          }
        }
      }),
    );
  }
  return clients;
}

export const bareOf = (jid: string | undefined) => (jid ?? "").split("/")[0]!;

export interface ServerItem {
  jid: string;
  name?: string;
  groups: string[];
  subscription: string;
  ask?: string;
}

export function rosterItems(reply: XmlElement): Map<string, ServerItem> {
  const out = new Map<string, ServerItem>();
  for (const item of reply.getChild("query", NS_ROSTER)?.getChildren("item") ?? []) {
    out.set(item.attrs.jid!, {
      jid: item.attrs.jid!,
      ...(item.attrs.name !== undefined ? { name: item.attrs.name } : {}),
      groups: item.getChildren("group").map((g) => g.text()).sort(),
      subscription: item.attrs.subscription ?? "none",
      ...(item.attrs.ask ? { ask: item.attrs.ask } : {}),
    });
  }
  return out;
}

/** The roster as the server holds it, read by a separate, silent resource of the account. */
export async function serverRoster(server: ProsodyServer, jid: string, password: string): Promise<Map<string, ServerItem>> {
  const reader = await TestClient.connect({ service: server.service, jid, password, resource: `reader-${Date.now()}` });
  try {
    return rosterItems(await reader.client.iqCaller.request(xml("iq", { type: "get" }, xml("query", { xmlns: NS_ROSTER })), 60_000));
  } finally {
    await reader.stop();
  }
}

export interface RelayStats {
  answers: { subscribed: number; unsubscribed: number };
  /** When messages from the watched JID reached the bot, and the bot's messages to it left (ms). */
  watchIn: number[];
  watchOut: number[];
}

/** relay.mjs between the bot and the server: counts what the bot puts on the wire, independently of its audit log. */
export class CountingRelay {
  private constructor(
    private readonly child: ChildProcess,
    private readonly statsFile: string,
    readonly port: number,
  ) {}

  static async start(targetPort: number, statsFile: string, watchJid = ""): Promise<CountingRelay> {
    const child = spawn(process.execPath, [path.join(path.dirname(fileURLToPath(import.meta.url)), "relay.mjs"), String(targetPort), statsFile, watchJid], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    const port = await new Promise<number>((resolve, reject) => {
      let out = "";
      child.stdout.on("data", (d) => {
        out += d;
        const m = /listening (\d+)/.exec(out);
        if (m) resolve(Number(m[1]));
      });
      child.once("exit", (code) => reject(new Error(`relay exited (${code})`)));
    });
    return new CountingRelay(child, statsFile, port);
  }

  get service(): string {
    return `xmpp://127.0.0.1:${this.port}`;
  }

  /** The counts as last written (every 100 ms, and when stopped). */
  stats(): RelayStats {
    return JSON.parse(readFileSync(this.statsFile, "utf8")) as RelayStats;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((resolve) => this.child.once("exit", resolve));
    this.child.kill("SIGTERM");
    await exited;
  }
}
