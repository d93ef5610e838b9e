/** Runs a bot in-process against a test Prosody, with its log lines captured for assertions. */
import { mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import type { BotConfig } from "../../bots/config/load.ts";
import { Secret } from "../../bots/config/secret.ts";
import { createLogger } from "../../bots/logger.ts";
import { orderPlugins, type LoadedPlugin } from "../../bots/plugin-loader.ts";
import type { PluginDefinition } from "../../bots/plugin.ts";
import { BotRuntime } from "../../bots/runtime.ts";
import type { XmppTestServer } from "../../scripts/xmpp-server.ts";

export class LogCapture extends Writable {
  readonly lines: Record<string, unknown>[] = [];
  readonly raw: string[] = [];
  override _write(chunk: Buffer, _enc: string, cb: () => void): void {
    for (const line of chunk.toString().split("\n")) {
      if (!line) continue;
      this.raw.push(line);
      try {
        this.lines.push(JSON.parse(line));
      } catch {
        this.lines.push({ msg: line });
      }
    }
    cb();
  }
  find(pred: (l: Record<string, unknown>) => boolean): Record<string, unknown> | undefined {
    return this.lines.find(pred);
  }
  messages(): string[] {
    return this.lines.map((l) => (typeof l.msg === "string" ? l.msg : ""));
  }
}

export interface TestBotOptions {
  server: XmppTestServer;
  user?: string;
  host?: string;
  password?: string;
  plugins?: { definition: PluginDefinition; config?: unknown }[];
  dataDir?: string;
  id?: string;
  resource?: string;
  /** Called before the runtime starts, e.g. to watch outgoing stanzas. */
  beforeStart?: (runtime: BotRuntime) => void;
}

export function testBotConfig(o: TestBotOptions): BotConfig {
  const user = o.user ?? "bot";
  const host = o.host ?? o.server.hosts[0]!;
  const password = o.password ?? "bot-password";
  return {
    id: o.id ?? user,
    jid: `${user}@${host}`,
    resource: o.resource ?? "roster-bot",
    service: o.server.service,
    tls: "plaintext-loopback",
    dataDir: o.dataDir ?? mkdtempSync(path.join(os.tmpdir(), "roster-bot-data-")),
    reconnect: { initialDelay: 100, maxDelay: 1_000 },
    password: new Secret(password),
    plugins: [],
    index: 0,
  };
}

/** Creates the account (unless it exists) and starts a bot with the given plugin definitions. */
export async function startTestBot(o: TestBotOptions): Promise<{ runtime: BotRuntime; logs: LogCapture; config: BotConfig }> {
  const config = testBotConfig(o);
  const [user, host] = config.jid.split("@") as [string, string];
  o.server.createAccount(user, host, config.password!.reveal());
  const logs = new LogCapture();
  const plugins: LoadedPlugin[] = (o.plugins ?? []).map((p) => ({
    key: p.definition.name,
    definition: p.definition,
    config: p.definition.config ? p.definition.config.parse(p.config ?? {}) : (p.config ?? {}),
  }));
  const { ordered, problems } = orderPlugins(plugins);
  if (problems.length) throw new Error(problems.map((p) => p.message).join("; "));
  const runtime = new BotRuntime(config, ordered, { logger: createLogger("debug", logs), configDir: process.cwd() });
  o.beforeStart?.(runtime);
  await runtime.start();
  return { runtime, logs, config };
}
