/**
 * A scripted XMPP server for unit tests of what no real test server produces (a roster result from
 * another JID, incremental pushes after an empty result, a server without versioning or
 * pre-approval, an `approved` item): in-process TCP on loopback, plaintext, SCRAM-SHA-1 (the bot
 * never sends PLAIN over plaintext), resource binding, then every iq get/set the client sends goes to
 * the test's script; what the script does not answer gets `service-unavailable`.
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes } from "node:crypto";
import net from "node:net";
import { StringDecoder } from "node:string_decoder";
import { Parser } from "@xmpp/xml";
import { xml, type XmlElement } from "../../bots/xmpp.ts";

const NS_SASL = "urn:ietf:params:xml:ns:xmpp-sasl";
const NS_BIND = "urn:ietf:params:xml:ns:xmpp-bind";
const NS_STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas";

/** What the script sees: the bound client's session. */
export interface ScriptedSession {
  /** The client's full JID after binding. */
  readonly jid: string;
  send(stanza: XmlElement): void;
}

export interface ScriptedServerOptions {
  domain?: string;
  /** Children of the stream features after authentication, besides bind (e.g. rosterver). */
  features?: XmlElement[];
  /** Answers an iq get/set; true when it did (or will), false for `service-unavailable`. */
  onIq?: (iq: XmlElement, session: ScriptedSession) => boolean;
}

interface XmlParser {
  on(event: "element" | "start" | "end", fn: (el: XmlElement) => void): void;
  on(event: "error", fn: (err: Error) => void): void;
  write(data: string): void;
}

const b64 = (b: Buffer | string) => Buffer.from(b).toString("base64");
const hmac = (key: Buffer, text: string) => createHmac("sha1", key).update(text).digest();

/** The server side of SCRAM-SHA-1 (RFC 5802) for one login: checks the proof, signs the answer. */
class ScramExchange {
  private readonly salt = randomBytes(16);
  private clientFirstBare = "";
  private serverFirst = "";

  constructor(private readonly passwords: Map<string, string>) {}

  first(message: string): string {
    this.clientFirstBare = message.replace(/^[^,]*,[^,]*,/, "");
    const nonce = /(?:^|,)r=([^,]+)/.exec(this.clientFirstBare)![1]! + randomBytes(12).toString("hex");
    this.serverFirst = `r=${nonce},s=${b64(this.salt)},i=4096`;
    return this.serverFirst;
  }

  /** The server's final message, or undefined when the proof is wrong. */
  final(message: string): string | undefined {
    const user = /(?:^|,)n=([^,]+)/.exec(this.clientFirstBare)![1]!.replace(/=2C/g, ",").replace(/=3D/g, "=");
    const password = this.passwords.get(user);
    if (password === undefined) return undefined;
    const withoutProof = message.replace(/,p=[^,]+$/, "");
    const proof = Buffer.from(/,p=([^,]+)$/.exec(message)![1]!, "base64");
    const salted = pbkdf2Sync(password, this.salt, 4096, 20, "sha1");
    const authMessage = `${this.clientFirstBare},${this.serverFirst},${withoutProof}`;
    const clientKey = hmac(salted, "Client Key");
    const signature = hmac(createHash("sha1").update(clientKey).digest(), authMessage);
    const expected = Buffer.from(clientKey.map((byte, i) => byte ^ signature[i]!));
    if (!expected.equals(proof)) return undefined;
    return `v=${b64(hmac(hmac(salted, "Server Key"), authMessage))}`;
  }
}

export class ScriptedServer {
  readonly hosts: string[];
  /** Every stanza bound clients sent, in order. */
  readonly received: XmlElement[] = [];
  private readonly passwords = new Map<string, string>();
  private readonly sockets = new Set<net.Socket>();
  private session: ScriptedSession | undefined;

  private constructor(
    private readonly tcp: net.Server,
    readonly port: number,
    private readonly options: ScriptedServerOptions,
  ) {
    this.hosts = [options.domain ?? "scripted.test"];
  }

  static async start(options: ScriptedServerOptions = {}): Promise<ScriptedServer> {
    const tcp = net.createServer();
    await new Promise<void>((resolve) => tcp.listen(0, "127.0.0.1", resolve));
    const server = new ScriptedServer(tcp, (tcp.address() as net.AddressInfo).port, options);
    tcp.on("connection", (socket) => server.serve(socket));
    return server;
  }

  get service(): string {
    return `xmpp://127.0.0.1:${this.port}`;
  }

  createAccount(user: string, host: string, password: string): string {
    this.passwords.set(user, password);
    return `${user}@${host}`;
  }

  /** Sends to the bound client (a roster push, say). */
  send(stanza: XmlElement): void {
    if (!this.session) throw new Error("no client is bound");
    this.session.send(stanza);
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise((resolve) => this.tcp.close(resolve));
  }

  private serve(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.on("close", () => this.sockets.delete(socket));
    socket.on("error", () => socket.destroy());
    const domain = this.hosts[0]!;
    const write = (text: string) => void (socket.destroyed || socket.write(text));
    const send = (el: XmlElement) => write(el.toString());
    let authenticated = false;
    let scram: ScramExchange | undefined;
    let parser: XmlParser;

    const openStream = () => {
      parser = new Parser() as XmlParser;
      parser.on("start", () => {
        write(`<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' id='${randomBytes(6).toString("hex")}' from='${domain}' version='1.0'>`);
        const features = authenticated
          ? [xml("bind", { xmlns: NS_BIND }), ...(this.options.features ?? [])]
          : [xml("mechanisms", { xmlns: NS_SASL }, xml("mechanism", {}, "SCRAM-SHA-1"))];
        write(`<stream:features>${features.map(String).join("")}</stream:features>`);
      });
      parser.on("element", (el) => onElement(el));
      // The client closes the stream: close ours, then the connection.
      parser.on("end", () => {
        write("</stream:stream>");
        socket.end();
      });
      parser.on("error", () => socket.destroy());
    };

    const onElement = (el: XmlElement) => {
      if (!authenticated) return authenticate(el);
      if (!this.session) return bind(el);
      this.received.push(el);
      if (el.name !== "iq" || (el.attrs.type !== "get" && el.attrs.type !== "set")) return;
      if (this.options.onIq?.(el, this.session)) return;
      send(xml("iq", { type: "error", id: el.attrs.id }, xml("error", { type: "cancel" }, xml("service-unavailable", { xmlns: NS_STANZAS }))));
    };

    const authenticate = (el: XmlElement) => {
      const text = Buffer.from(el.text(), "base64").toString("utf8");
      if (el.name === "auth") {
        scram = new ScramExchange(this.passwords);
        send(xml("challenge", { xmlns: NS_SASL }, b64(scram.first(text))));
      } else if (el.name === "response" && scram) {
        const final = scram.final(text);
        if (final === undefined) return send(xml("failure", { xmlns: NS_SASL }, xml("not-authorized")));
        authenticated = true;
        send(xml("success", { xmlns: NS_SASL }, b64(final)));
        openStream(); // the client restarts the stream after success
      }
    };

    const bind = (el: XmlElement) => {
      const resource = el.getChild("bind", NS_BIND)?.getChildText("resource") ?? "scripted";
      const user = [...this.passwords.keys()][0] ?? "user";
      const jid = `${user}@${domain}/${resource}`;
      this.session = { jid, send };
      send(xml("iq", { type: "result", id: el.attrs.id }, xml("bind", { xmlns: NS_BIND }, xml("jid", {}, jid))));
    };

    openStream();
    const decoder = new StringDecoder("utf8");
    socket.on("data", (chunk: Buffer) => parser.write(decoder.write(chunk)));
  }
}
