/**
 * A raw XEP-0114 component connection for load tests: it speaks for a whole domain, so one
 * connection sends from any number of JIDs there, as a remote domain's traffic arrives, without a
 * login per sender. It writes strings and only scans replies for the tags a test counts, leaving the
 * CPU to the server and the bot. (xmpp.js's component package is not published for its 0.14 line.)
 */
import { createHash } from "node:crypto";
import net from "node:net";
import { StringDecoder } from "node:string_decoder";

export interface ComponentOptions {
  port: number;
  domain: string;
  secret: string;
}

const escapeAttr = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/"/g, "&quot;");
const ENTITIES: Record<string, string> = { lt: "<", gt: ">", quot: '"', apos: "'", amp: "&" };
const unescapeAttr = (s: string) => s.replace(/&(lt|gt|quot|apos|amp);/g, (_, e: string) => ENTITIES[e]!);

export type PresenceAttrs = Record<string, string>;

export class RawComponent {
  /** Presence stanzas of type `unavailable` received: Prosody's receipt for each subscribe. */
  receipts = 0;
  /** Called with every presence the server sends to this component's domain. */
  onPresence: ((attrs: PresenceAttrs) => void) | undefined;
  private tail = "";
  private readonly decoder = new StringDecoder("utf8");

  private constructor(
    private readonly socket: net.Socket,
    readonly domain: string,
  ) {
    socket.on("data", (chunk: Buffer) => this.scan(this.decoder.write(chunk)));
    socket.on("error", () => {});
  }

  static async connect(options: ComponentOptions): Promise<RawComponent> {
    const socket = net.connect(options.port, "127.0.0.1");
    socket.setNoDelay(true);
    let buffer = "";
    const read = (re: RegExp, what: string) =>
      new Promise<RegExpExecArray>((resolve, reject) => {
        const timer = setTimeout(() => done(new Error(`component ${options.domain}: no ${what} within 10 s: ${buffer.slice(0, 300)}`)), 10_000);
        const onData = (chunk: Buffer) => {
          buffer += chunk.toString("utf8");
          const m = re.exec(buffer);
          if (m) done(undefined, m);
          else if (/<stream:error|<\/stream:stream>/.test(buffer)) done(new Error(`component ${options.domain} refused: ${buffer.slice(0, 300)}`));
        };
        const onClose = () => done(new Error(`component ${options.domain}: connection closed: ${buffer.slice(0, 300)}`));
        const done = (err?: Error, m?: RegExpExecArray) => {
          clearTimeout(timer);
          socket.off("data", onData).off("close", onClose).off("error", onClose);
          if (err) reject(err);
          else resolve(m!);
        };
        socket.on("data", onData).on("close", onClose).on("error", onClose);
      });
    await new Promise<void>((resolve, reject) => socket.once("connect", resolve).once("error", reject));
    socket.write(
      `<?xml version='1.0'?><stream:stream xmlns='jabber:component:accept' xmlns:stream='http://etherx.jabber.org/streams' to='${options.domain}'>`,
    );
    const id = (await read(/<stream:stream\b[^>]*\bid=['"]([^'"]+)['"]/, "stream header"))[1]!;
    buffer = "";
    socket.write(`<handshake>${createHash("sha1").update(id + options.secret).digest("hex")}</handshake>`);
    await read(/<handshake\s*\/>|<handshake><\/handshake>/, "handshake reply");
    return new RawComponent(socket, options.domain);
  }

  /**
   * Sends a presence stanza; resolves when the socket has taken it (back-pressure respected).
   * Without `from`, Prosody fills in the component's domain.
   */
  presence(from: string | undefined, to: string, type: string): Promise<void> | void {
    const fromAttr = from === undefined ? "" : ` from="${escapeAttr(from)}"`;
    const ok = this.socket.write(`<presence${fromAttr} to="${escapeAttr(to)}" type="${escapeAttr(type)}"/>`);
    if (!ok) return new Promise((resolve) => this.socket.once("drain", resolve));
  }

  private scan(text: string): void {
    const all = this.tail + text;
    const re = /<presence\b[^>]*>/g;
    let consumed = 0;
    let m;
    while ((m = re.exec(all))) {
      consumed = m.index + m[0].length;
      if (/\btype=['"]unavailable['"]/.test(m[0])) this.receipts++;
      if (this.onPresence) {
        const attrs: PresenceAttrs = {};
        for (const a of m[0].matchAll(/([\w:-]+)=(?:'([^']*)'|"([^"]*)")/g)) attrs[a[1]!] = unescapeAttr(a[2] ?? a[3]!);
        this.onPresence(attrs);
      }
    }
    const open = all.lastIndexOf("<");
    this.tail = all.slice(Math.max(consumed, open === -1 ? all.length : open)).slice(-4096);
  }

  async stop(): Promise<void> {
    if (this.socket.destroyed) return;
    this.socket.end("</stream:stream>");
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => (this.socket.destroy(), resolve()), 1_000);
      this.socket.once("close", () => (clearTimeout(timer), resolve()));
    });
  }
}
