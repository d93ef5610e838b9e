/**
 * The one door to xmpp.js. Its packages ship no type declarations, so this module types the parts
 * roster-bot uses and re-exports them under its own names: the rest of the code, and the published
 * declarations, never name an `@xmpp/*` module (a consumer's strict `tsc` would find no types there).
 */
import type { EventEmitter } from "node:events";
import type { Socket } from "node:net";
import { client as rawClient, xml as rawXml } from "@xmpp/client";
import rawDebug from "@xmpp/debug";

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

/** @xmpp/client's `client()`. */
export const createClient: (options: XmppClientOptions) => XmppClient = rawClient;

/** @xmpp/debug: prints the stanza trace of `entity` (authentication hidden). */
export const debugTrace: (entity: XmppClient, force?: boolean) => void = rawDebug;
