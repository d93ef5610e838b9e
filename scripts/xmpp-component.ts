/**
 * A raw XEP-0114 component connection for load tests: it speaks for a whole domain, so one
 * connection can send stanzas from any number of JIDs there — the way traffic from a remote
 * domain reaches the bot, without one client login per sender.
 *
 * It writes stanzas as strings and only scans what comes back for the tags a test counts: a
 * load generator that parsed every reply would spend the CPU the server and the bot need.
 * (xmpp.js's own component package is not published for the 0.14 line this project uses.)
 */
import { createHash } from "node:crypto";
import net from "node:net";

export interface ComponentOptions {
  port: number;
  domain: string;
  secret: string;
}

const escapeAttr = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/"/g, "&quot;");

export class RawComponent {
  /** Presence stanzas of type `unavailable` received: Prosody's receipt for each subscribe. */
  receipts = 0;
  private tail = "";

  private constructor(
    private readonly socket: net.Socket,
    readonly domain: string,
  ) {
    socket.on("data", (chunk) => this.scan(chunk.toString("utf8")));
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

  /** Sends a presence stanza; resolves when the socket has taken it (back-pressure respected). */
  presence(from: string, to: string, type: string): Promise<void> | void {
    const ok = this.socket.write(`<presence from="${escapeAttr(from)}" to="${escapeAttr(to)}" type="${escapeAttr(type)}"/>`);
    if (!ok) return new Promise((resolve) => this.socket.once("drain", resolve));
  }

  private scan(text: string): void {
    const all = this.tail + text;
    const re = /<presence\b[^>]*\btype=['"]unavailable['"][^>]*>/g;
    let consumed = 0;
    let m;
    while ((m = re.exec(all))) {
      this.receipts++;
      consumed = m.index + m[0].length;
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
