/**
 * Contacts that each ask a bot once for a subscription and wait for its answer, and the audit lines
 * those decisions left in one or more files (the log and what rotation made of it).
 */
import { existsSync, readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import type { XmppTestServer } from "../../scripts/xmpp-server.ts";
import { TestClient } from "../../scripts/xmpp-client.ts";

export class Contacts {
  private readonly clients: TestClient[] = [];

  constructor(
    private readonly server: XmppTestServer,
    private readonly bot: string,
  ) {}

  /** Connects contacts `<prefix>0@host` … and returns their JIDs. */
  async connect(prefix: string, count: number, host = this.server.hosts[1]!): Promise<string[]> {
    const jids = Array.from({ length: count }, (_, i) => `${prefix}${i}@${host}`);
    for (const jid of jids) this.server.createAccount(jid.split("@")[0]!, host, "pw");
    const clients = await Promise.all(jids.map((jid) => TestClient.connect({ service: this.server.service, jid, password: "pw", roster: true, presence: true })));
    this.clients.push(...clients);
    return jids;
  }

  /** Each of `jids` asks for a subscription; resolves when every one has its answer. */
  async ask(jids: readonly string[]): Promise<void> {
    await Promise.all(
      jids.map(async (jid) => {
        const client = this.clients.find((c) => c.bare === jid)!;
        const answered = client.waitFor((s) => s.name === "presence" && (s.attrs.from ?? "").split("/")[0] === this.bot && s.attrs.type !== undefined, 10_000);
        await client.presence(this.bot, "subscribe");
        await answered;
      }),
    );
  }

  async stop(): Promise<void> {
    await Promise.all(this.clients.splice(0).map((c) => c.stop()));
  }
}

/** The text of each file that exists (a `.gz` is unpacked). */
export function readLogs(files: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const f of files) {
    if (!existsSync(f)) continue;
    const raw = readFileSync(f);
    out.set(f, (f.endsWith(".gz") ? gunzipSync(raw) : raw).toString("utf8"));
  }
  return out;
}

/**
 * The `from` of every decision line across the files, after checking that every line of every
 * file is a whole JSON object (no partial line, no two glued together, no NUL bytes).
 */
export function decisionsIn(files: readonly string[]): string[] {
  const froms: string[] = [];
  for (const [file, text] of readLogs(files)) {
    if (text.includes("\0")) throw new Error(`${file} holds NUL bytes`);
    if (text !== "" && !text.endsWith("\n")) throw new Error(`${file} ends inside a line`);
    for (const line of text.split("\n")) {
      if (line === "") continue;
      let parsed: { kind?: string; from?: string };
      try {
        parsed = JSON.parse(line) as typeof parsed;
      } catch {
        throw new Error(`${file}: not a JSON line: ${line.slice(0, 200)}`);
      }
      if (parsed.kind === "decision") froms.push(parsed.from!);
    }
  }
  return froms;
}
