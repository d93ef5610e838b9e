/**
 * What the bot says it is (XEP-0030 disco#info): the host's identity and features plus what plugins
 * add, and the XEP-0115 `ver` computed from them. Plugins add through `ctx.disco`; what they add
 * goes away when they stop. Listeners hear each change (the runtime re-broadcasts presence).
 */
import { xml, type XmlElement } from "../xmpp.ts";
import { capsVer, NS_CAPS, type DiscoIdentity } from "./caps.ts";

export const NS_DISCO_INFO = "http://jabber.org/protocol/disco#info";
export const NS_DISCO_ITEMS = "http://jabber.org/protocol/disco#items";
export const NS_PING = "urn:xmpp:ping";
export const NS_VERSION = "jabber:iq:version";

/** Names roster-bot as software in caps (`node#ver` is what a client asks disco#info about). */
export const CAPS_NODE = "https://www.npmjs.com/package/roster-bot";

/** What the host itself answers, so every bot has these. */
const HOST_FEATURES = [NS_DISCO_INFO, NS_PING, NS_VERSION, NS_CAPS];

/** What `ctx.disco` offers a plugin; each call returns a function that undoes it. */
export interface PluginDisco {
  /**
   * Advertises a feature (a namespace the plugin answers), in disco#info and in the caps `ver` of
   * the bot's presence (re-broadcast once when it changes while online). Adding one twice is fine.
   */
  addFeature(ns: string): () => void;
  /**
   * Adds an identity besides the host's (category `client`, type `bot`). Another identity with the
   * same category, type and xml:lang but another name is refused (XEP-0030 §3.1).
   */
  addIdentity(identity: DiscoIdentity): () => void;
}

const identityKey = (i: DiscoIdentity) => JSON.stringify([i.category, i.type, i.lang ?? ""]);

export class EntityInfo {
  /** Added features and identities, each with how many times it was added. */
  private readonly features = new Map<string, number>();
  private readonly identities = new Map<string, { identity: DiscoIdentity; count: number }>();
  private readonly listeners: (() => void)[] = [];
  private cachedVer: string | undefined;

  constructor(readonly hostIdentity: DiscoIdentity) {
    for (const f of HOST_FEATURES) this.features.set(f, 1);
    this.identities.set(identityKey(hostIdentity), { identity: { ...hostIdentity }, count: 1 });
  }

  /** Called after each change of identities or features. */
  onChange(fn: () => void): void {
    this.listeners.push(fn);
  }

  addFeature(ns: string): () => void {
    if (typeof ns !== "string" || ns.trim() === "" || ns !== ns.trim()) throw new Error(`disco feature must be a non-empty namespace without surrounding spaces (got ${JSON.stringify(ns)})`);
    const before = this.features.get(ns) ?? 0;
    this.features.set(ns, before + 1);
    if (before === 0) this.changed();
    let removed = false;
    return () => {
      if (removed) return;
      removed = true;
      const n = this.features.get(ns)! - 1;
      if (n > 0) this.features.set(ns, n);
      else {
        this.features.delete(ns);
        this.changed();
      }
    };
  }

  addIdentity(identity: DiscoIdentity): () => void {
    for (const field of ["category", "type"] as const) {
      if (typeof identity[field] !== "string" || identity[field].trim() === "") throw new Error(`disco identity needs a non-empty ${field}`);
    }
    const copy: DiscoIdentity = { category: identity.category, type: identity.type, name: identity.name, lang: identity.lang };
    const key = identityKey(copy);
    const existing = this.identities.get(key);
    if (existing && (existing.identity.name ?? "") !== (copy.name ?? "")) {
      throw new Error(`disco identity ${copy.category}/${copy.type} already exists with the name ${JSON.stringify(existing.identity.name ?? "")}`);
    }
    if (existing) existing.count++;
    else {
      this.identities.set(key, { identity: copy, count: 1 });
      this.changed();
    }
    let removed = false;
    return () => {
      if (removed) return;
      removed = true;
      const entry = this.identities.get(key)!;
      if (--entry.count > 0) return;
      this.identities.delete(key);
      this.changed();
    };
  }

  /** A plugin's view, with each addition handed to `track` (its disposal). */
  forPlugin(track: (undo: () => void) => () => void): PluginDisco {
    return {
      addFeature: (ns) => track(this.addFeature(ns)),
      addIdentity: (identity) => track(this.addIdentity(identity)),
    };
  }

  identityList(): DiscoIdentity[] {
    return [...this.identities.values()].map((e) => ({ ...e.identity }));
  }

  featureList(): string[] {
    return [...this.features.keys()];
  }

  /** XEP-0115 `ver` (sha-1) of the current identities and features. */
  get ver(): string {
    this.cachedVer ??= capsVer(this.identityList(), this.featureList());
    return this.cachedVer;
  }

  /** The caps node a client may query: `node#ver`. */
  get capsNode(): string {
    return `${CAPS_NODE}#${this.ver}`;
  }

  /** The `<c/>` element for presence. */
  capsElement(): XmlElement {
    return xml("c", { xmlns: NS_CAPS, hash: "sha-1", node: CAPS_NODE, ver: this.ver });
  }

  /** A copy of an available presence with the current caps instead of any it had. */
  withCaps(presence: XmlElement): XmlElement {
    const rest = presence.children.filter((c) => typeof c === "string" || !c.is("c", NS_CAPS));
    return xml(presence.name, { ...presence.attrs }, ...rest, this.capsElement());
  }

  /** The disco#info `<query/>` answered for no node or the current caps node (echoed). */
  discoInfo(node?: string): XmlElement {
    return xml(
      "query",
      { xmlns: NS_DISCO_INFO, node },
      ...this.identityList().map((i) => xml("identity", { category: i.category, type: i.type, name: i.name, "xml:lang": i.lang })),
      ...this.featureList().map((f) => xml("feature", { var: f })),
    );
  }

  private changed(): void {
    this.cachedVer = undefined;
    for (const fn of this.listeners) fn();
  }
}
