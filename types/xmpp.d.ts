// Minimal typings for the parts of xmpp.js that roster-bot uses (the packages ship none).

declare module "@xmpp/xml" {
  export class Element {
    constructor(name: string, attrs?: Record<string, string | undefined>);
    name: string;
    attrs: Record<string, string | undefined>;
    children: (Element | string)[];
    parent: Element | null;
    is(name: string, xmlns?: string): boolean;
    getNS(): string | undefined;
    getChild(name: string, xmlns?: string): Element | undefined;
    getChildren(name: string, xmlns?: string): Element[];
    getChildElements(): Element[];
    getChildText(name: string, xmlns?: string): string | null;
    getText(): string;
    text(): string;
    append(...children: (Element | string)[]): Element;
    c(name: string, attrs?: Record<string, string | undefined>): Element;
    t(text: string): Element;
    up(): Element;
    toString(): string;
  }
  type Child = Element | string | undefined | null | false | Child[];
  export function xml(name: string, attrs?: Record<string, string | undefined> | null, ...children: Child[]): Element;
  export default xml;
}

declare module "@xmpp/jid" {
  export class JID {
    local: string;
    domain: string;
    resource: string;
    bare(): JID;
    toString(): string;
  }
  export default function jid(s: string): JID;
}

declare module "@xmpp/client" {
  import type { Element } from "@xmpp/xml";
  import type { JID } from "@xmpp/jid";
  import type { EventEmitter } from "node:events";

  export { xml } from "@xmpp/xml";
  export { default as jid } from "@xmpp/jid";

  export interface IncomingContext {
    stanza: Element;
    name: string;
    type: string;
    id: string;
    element?: Element;
    entity: Client;
  }
  export type Middleware = (ctx: IncomingContext, next: () => Promise<unknown>) => unknown;

  export interface Client extends EventEmitter {
    jid: JID | null;
    status: string;
    socket: (import("node:net").Socket & { secure?: boolean }) | null;
    options: { service?: string; domain?: string; lang?: string; [k: string]: unknown };
    timeout: number;
    start(): Promise<JID>;
    stop(): Promise<unknown>;
    connect(service?: string): Promise<unknown>;
    open(opts: { domain?: string; lang?: string }): Promise<unknown>;
    disconnect(): Promise<unknown>;
    send(el: Element): Promise<void>;
    sendMany(els: Element[]): Promise<void>;
    isSecure(): boolean;
    _onElement(el: Element): void;
    middleware: { use(fn: Middleware): Middleware; filter(fn: Middleware): Middleware };
    iqCaller: {
      request(stanza: Element, timeout?: number): Promise<Element>;
      get(el: Element, to?: string, timeout?: number): Promise<Element | undefined>;
      set(el: Element, to?: string, timeout?: number): Promise<Element | undefined>;
    };
    iqCallee: {
      get(ns: string, name: string, handler: (ctx: IncomingContext) => unknown): void;
      set(ns: string, name: string, handler: (ctx: IncomingContext) => unknown): void;
    };
    reconnect: EventEmitter & { stop(): void; start(): void; delay: number };
    streamManagement: EventEmitter & { enabled: boolean; id: string; timeout?: number; requestAckInterval?: number };
  }

  export type Credentials =
    | { username?: string; password?: string }
    | ((
        authenticate: (creds: { username: string; password: string }, mechanism: string, userAgent?: unknown) => Promise<void>,
        mechanisms: string[],
        fast: unknown,
        entity: Client,
      ) => Promise<void>);

  export function client(options: {
    service?: string;
    domain?: string;
    resource?: string;
    username?: string;
    password?: string;
    credentials?: Credentials;
    lang?: string;
    timeout?: number;
  }): Client;
}

declare module "@xmpp/debug" {
  import type { Client } from "@xmpp/client";
  export default function debug(entity: Client, force?: boolean): void;
  export function hideSensitive<T>(element: T): T;
}
