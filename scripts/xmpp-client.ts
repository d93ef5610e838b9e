/**
 * Plain XMPP clients for tests, the demo and benchmarks: the "other side" of the bot (contacts,
 * a second resource of the bot's account, admins). They log in with PLAIN, which is only sensible
 * on a loopback test server (SCRAM costs ~300 ms of CPU per login, too slow for crowds).
 */
import { createClient } from "../bots/xmpp-client.ts";
import { xml, type XmppClient } from "../bots/xmpp.ts";
import type { XmlElement } from "../bots/xmpp.ts";
import { patchClient } from "../bots/xmpp-patches/index.ts";

export { xml };

const NS_ROSTER = "jabber:iq:roster";

export interface TestClientOptions {
  service: string;
  jid: string;
  password: string;
  resource?: string;
  /** Request the roster after login (needed to receive pushes and inbound `subscribed`). */
  roster?: boolean;
  /** Send initial presence after login (needed to receive subscription requests). */
  presence?: boolean;
}

type Waiter = { match: (s: XmlElement) => boolean; resolve: (s: XmlElement) => void };

export class TestClient {
  readonly received: XmlElement[] = [];
  private waiters: Waiter[] = [];

  private constructor(
    readonly client: XmppClient,
    readonly bare: string,
  ) {
    client.on("stanza", (stanza: XmlElement) => {
      this.received.push(stanza);
      if (this.received.length > 10_000) this.received.splice(0, 5_000);
      for (const w of this.waiters.slice()) {
        if (w.match(stanza)) {
          this.waiters.splice(this.waiters.indexOf(w), 1);
          w.resolve(stanza);
        }
      }
    });
    client.on("error", () => {});
    // Roster pushes to this client are acknowledged, as any real client does.
    client.iqCallee.set(NS_ROSTER, "query", () => true);
  }

  static async connect(options: TestClientOptions): Promise<TestClient> {
    const [local, domain] = options.jid.split("@") as [string, string];
    const client = createClient({
      service: options.service,
      domain,
      resource: options.resource ?? "test",
      credentials: async (authenticate, mechanisms) => {
        const mechanism = mechanisms.includes("PLAIN") ? "PLAIN" : mechanisms[0]!;
        await authenticate({ username: local, password: options.password }, mechanism);
      },
    });
    client.reconnect.stop();
    patchClient(client, () => {});
    const tc = new TestClient(client, options.jid);
    try {
      await client.start();
      if (options.roster) await tc.rosterGet();
      if (options.presence) await client.send(xml("presence"));
    } catch (err) {
      // Do not leave a half-open session behind (a retry would fight it for the resource).
      await tc.stop();
      throw err;
    }
    return tc;
  }

  get fullJid(): string {
    return this.client.jid!.toString();
  }

  send(stanza: XmlElement): Promise<void> {
    return this.client.send(stanza);
  }

  /** Waits for the next stanza (received from now on, or already received if `past`) that matches. */
  waitFor(match: (s: XmlElement) => boolean, timeoutMs = 5_000, past = false): Promise<XmlElement> {
    if (past) {
      const found = this.received.find(match);
      if (found) return Promise.resolve(found);
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        match,
        resolve: (s) => {
          clearTimeout(timer);
          resolve(s);
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`${this.bare}: no matching stanza within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  /** Presence stanzas of a type received so far from a bare JID. */
  presencesFrom(bare: string, type?: string): XmlElement[] {
    return this.received.filter(
      (s) => s.name === "presence" && (s.attrs.from ?? "").split("/")[0] === bare && (type === undefined || s.attrs.type === type),
    );
  }

  async rosterGet(): Promise<XmlElement> {
    return this.client.iqCaller.request(xml("iq", { type: "get" }, xml("query", { xmlns: NS_ROSTER })));
  }

  async rosterSet(jid: string, opts: { name?: string; groups?: string[]; remove?: boolean } = {}): Promise<XmlElement> {
    const item = xml(
      "item",
      { jid, name: opts.name, subscription: opts.remove ? "remove" : undefined },
      ...(opts.groups ?? []).map((g) => xml("group", {}, g)),
    );
    return this.client.iqCaller.request(xml("iq", { type: "set" }, xml("query", { xmlns: NS_ROSTER }, item)));
  }

  presence(to: string, type: "subscribe" | "subscribed" | "unsubscribe" | "unsubscribed"): Promise<void> {
    return this.client.send(xml("presence", { to, type }));
  }

  async stop(): Promise<void> {
    // A server that resets the connection while it closes must not crash the process: once
    // stopped, xmpp.js no longer listens for the socket's errors.
    (this.client.socket as { on?(event: string, fn: () => void): void } | null)?.on?.("error", () => {});
    await this.client.stop().catch(() => {});
  }
}
