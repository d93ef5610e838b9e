/**
 * Types for the parts of xmpp.js roster-bot uses, and `xml` (from the light @xmpp/xml). xmpp.js ships
 * no declarations, so only this module and xmpp-client.ts (the client, loaded only by what connects)
 * name an `@xmpp/*` module: a consumer's strict `tsc` would find no types in our declarations.
 */
import type { EventEmitter } from "node:events";
import type { Socket } from "node:net";
import { xml as rawXml } from "@xmpp/xml";

/** A parsed or built XML element (ltx's Element, as xmpp.js uses it). */
export interface XmlElement {
  name: string;
  attrs: Record<string, string | undefined>;
  children: (XmlElement | string)[];
  parent: XmlElement | null;
  is(name: string, xmlns?: string): boolean;
  getNS(): string | undefined;
  getChild(name: string, xmlns?: string): XmlElement | undefined;
  getChildren(name: string, xmlns?: string): XmlElement[];
  getChildElements(): XmlElement[];
  getChildText(name: string, xmlns?: string): string | null;
  getText(): string;
  text(): string;
  append(...children: (XmlElement | string)[]): XmlElement;
  c(name: string, attrs?: Record<string, string | undefined>): XmlElement;
  t(text: string): XmlElement;
  up(): XmlElement;
  toString(): string;
}

/** What `xml()` takes as children: elements, text, and falsy values (skipped), nested in arrays. */
export type XmlChild = XmlElement | string | undefined | null | false | XmlChild[];

/** Builds an element: `xml("presence", { to, type: "subscribed" })`. */
// eslint-disable-next-line @typescript-eslint/no-unsafe-assignment -- @xmpp/xml ships no types
export const xml: (name: string, attrs?: Record<string, string | undefined> | null, ...children: XmlChild[]) => XmlElement = rawXml;

/** A JID as xmpp.js parses it (no normalization: use roster-bot's own JID helpers to compare). */
export interface XmppJid {
  local: string;
  domain: string;
  resource: string;
  bare(): XmppJid;
  toString(): string;
}

export interface IncomingContext {
  stanza: XmlElement;
  name: string;
  type: string;
  id: string;
  element?: XmlElement;
  entity: XmppClient;
}
export type Middleware = (ctx: IncomingContext, next: () => Promise<unknown>) => unknown;

/** The @xmpp/client entity, as far as roster-bot uses it. */
export interface XmppClient extends EventEmitter {
  jid: XmppJid | null;
  status: string;
  socket: (Socket & { secure?: boolean }) | null;
  options: { service?: string; domain?: string; lang?: string; [k: string]: unknown };
  timeout: number;
  start(): Promise<XmppJid>;
  stop(): Promise<unknown>;
  connect(service?: string): Promise<unknown>;
  open(opts: { domain?: string; lang?: string }): Promise<unknown>;
  disconnect(): Promise<unknown>;
  send(el: XmlElement): Promise<void>;
  sendMany(els: XmlElement[]): Promise<void>;
  isSecure(): boolean;
  _onElement(el: XmlElement): void;
  /** The socket's data handler; `parser` is null once xmpp.js has given up on the stream. */
  _onData(data: Buffer | string): void;
  parser: object | null;
  middleware: { use(fn: Middleware): Middleware; filter(fn: Middleware): Middleware };
  iqCaller: {
    request(stanza: XmlElement, timeout?: number): Promise<XmlElement>;
    get(el: XmlElement, to?: string, timeout?: number): Promise<XmlElement | undefined>;
    set(el: XmlElement, to?: string, timeout?: number): Promise<XmlElement | undefined>;
  };
  iqCallee: {
    get(ns: string, name: string, handler: (ctx: IncomingContext) => unknown): void;
    set(ns: string, name: string, handler: (ctx: IncomingContext) => unknown): void;
  };
  reconnect: EventEmitter & { stop(): void; start(): void; delay: number };
  streamManagement: EventEmitter & { enabled: boolean; id: string; timeout?: number; requestAckInterval?: number };
}

export type XmppCredentials =
  | { username?: string; password?: string }
  | ((
      authenticate: (creds: { username: string; password: string }, mechanism: string, userAgent?: unknown) => Promise<void>,
      mechanisms: string[],
      fast: unknown,
      entity: XmppClient,
    ) => Promise<void>);

export interface XmppClientOptions {
  service?: string;
  domain?: string;
  resource?: string;
  username?: string;
  password?: string;
  credentials?: XmppCredentials;
  lang?: string;
  timeout?: number;
}
