/**
 * One bot account's XMPP connection, on top of xmpp.js: the TLS policy (enforced before any
 * credential is sent), reconnect with capped backoff and jitter (xmpp.js retries every 1 s), a
 * `resumed` event (xmpp.js announces a new session with `online` but not a resume), and routing.
 */
import { EventEmitter } from "node:events";
import net from "node:net";
import { createClient, debugTrace } from "./xmpp-client.ts";
import { xml, type XmppClient } from "./xmpp.ts";
import type { XmlElement } from "./xmpp.ts";
import type { Logger } from "pino";
import { backoffDelay } from "./backoff.ts";
import type { BotConfig } from "./config/load.ts";
import { addressOf, domainOf, parseJid } from "./jid.ts";
import { Limiter } from "./limiter.ts";
import { StanzaRouter } from "./router.ts";
import { dropUnresumableQueue, patchClient } from "./xmpp-patches/index.ts";

const NS_STREAM = "http://etherx.jabber.org/streams";

/**
 * Logins in progress in this process. xmpp.js gives the server 2 s to answer a stream header: with
 * hundreds of bots starting (or reconnecting) at once, the last ones queue at the server longer than
 * that, time out and retry together. Queued here instead, each login gets a prompt answer.
 */
const logins = new Limiter(32);

export class TlsPolicyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TlsPolicyError";
  }
}

/** Errors that retrying cannot fix: wrong credentials, a refused TLS policy. */
export function isPermanentFailure(err: unknown): boolean {
  if (err instanceof TlsPolicyError) return true;
  const e = err as { name?: string; condition?: string };
  return e?.name === "SASLError" || e?.condition === "not-authorized" || e?.condition === "account-disabled";
}

export function isLoopbackAddress(address: string | undefined): boolean {
  if (!address) return false;
  const v4 = address.startsWith("::ffff:") ? address.slice(7) : address;
  if (net.isIPv4(v4)) return v4.startsWith("127.");
  return address === "::1";
}

export interface ConnectionOptions {
  debug?: boolean;
  /** Retry the first connection on network errors (a service does; one-shot commands do not). */
  retryInitial?: boolean;
  /** iq request timeout, ms. */
  iqTimeout?: number;
}

export interface BotConnectionEvents {
  /** A new session is bound; initial presence is not sent yet. */
  session: [];
  /** A stream-management resume: the session, roster interest and presence are as they were. */
  resumed: [];
  /** The connection dropped; a reconnect is scheduled unless stopping. */
  offline: [];
  /** A failure no retry can fix; the connection has stopped. */
  fatal: [Error];
}

export class BotConnection extends EventEmitter<BotConnectionEvents> {
  readonly router: StanzaRouter;
  readonly client: XmppClient;
  features: XmlElement | undefined;
  private stopping = false;
  /** True once a session came up; before that, start() does the retrying. */
  private established = false;
  private attempt = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  /** A reconnect attempt is waiting for its timer: at most one is ever scheduled. */
  private reconnectScheduled = false;
  /** A reconnect attempt is running: it handles its own failure, not the disconnect listener. */
  private reconnecting = false;
  /** A session (new or resumed) is up; `offline` is emitted once when it is lost. */
  private sessionUp = false;
  /** The last broadcast presence of this session was unavailable (stop() does not repeat it). */
  private unavailableSent = false;
  /** The last available presence broadcast in this session, as sent (undefined after unavailable). */
  private lastAvailable: XmlElement | undefined;
  /**
   * Rewrites each available presence before it is sent (the runtime adds XEP-0115 caps), so that
   * whatever sends presence, the host or a plugin, advertises what the bot supports.
   */
  decorateAvailablePresence: ((presence: XmlElement) => XmlElement) | undefined;
  /** A login attempt is running: its failure is logged once, by whoever retries it. */
  private loggingIn = false;
  /** Ends start()'s wait between attempts early when stop() is called. */
  private wakeRetry: (() => void) | undefined;
  private readonly iqTimeout: number;

  constructor(
    readonly bot: BotConfig,
    private readonly logger: Logger,
    private readonly options: ConnectionOptions = {},
  ) {
    super();
    this.router = new StanzaRouter(logger);
    this.iqTimeout = options.iqTimeout ?? 30_000;
    const jid = parseJid(bot.jid);
    const password = bot.password;
    const policy = bot.tls;

    this.client = createClient({
      service: bot.service,
      domain: loginDomain(jid.domain, bot.jidAsWritten ?? bot.jid),
      resource: bot.resource,
      credentials: async (authenticate, mechanisms, _fast, entity) => {
        this.assertTransportAllowed(entity, policy);
        if (!password) throw new Error(`bot "${bot.id}" has no password`);
        // Over an unencrypted (explicitly allowed) stream, never offer PLAIN.
        const mechanism = entity.isSecure() ? mechanisms[0] : mechanisms.find((m) => m !== "PLAIN");
        if (!mechanism) throw new TlsPolicyError("the server offers only PLAIN over an unencrypted stream");
        await authenticate({ username: jid.local, password: password.reveal() }, mechanism);
      },
    }, this.logger);
    this.client.reconnect.stop();
    if (options.debug) debugTrace(this.client, true);
    patchClient(this.client, (element, err) =>
      this.logger.warn({ err: err.message, stanza: element.toString().slice(0, 500) }, "malformed stanza dropped"),
    );
    this.client.middleware.use((ctx, next) => this.dispatch(ctx.stanza, ctx.element, next));
    // xmpp.js's feature handlers consume the features element, so watch for it before them.
    this.client.on("nonza", (el: XmlElement) => {
      if (el.is("features", NS_STREAM)) this.features = el;
    });
    this.client.on("error", (err: Error) => this.onClientError(err));
    this.client.on("online", () => {
      this.attempt = 0;
      this.established = true;
      this.sessionUp = true;
      this.unavailableSent = false;
      this.lastAvailable = undefined;
      this.emit("session");
    });
    this.client.streamManagement.on("resumed", () => {
      this.attempt = 0;
      this.sessionUp = true;
      this.logger.info("stream resumed");
      this.emit("resumed");
    });
    this.client.on("disconnect", () => this.onDisconnect());
  }

  get fullJid(): string | undefined {
    return this.client.jid?.toString();
  }

  get isOnline(): boolean {
    return this.client.status === "online";
  }

  /** Connects; resolves at the first online session. Rejects on a permanent failure. */
  async start(): Promise<void> {
    this.stopping = false;
    for (;;) {
      try {
        await this.login();
        return;
      } catch (err) {
        if (this.stopping) throw err;
        if (isPermanentFailure(err) || !this.options.retryInitial) {
          await this.safeStop();
          throw err;
        }
        const delay = backoffDelay(this.attempt++, this.bot.reconnect);
        this.logger.warn({ err: (err as Error).message, attempt: this.attempt, delayMs: delay }, "connection failed; retrying");
        await this.safeStop();
        await new Promise<void>((resolve) => {
          this.reconnectTimer = setTimeout(resolve, delay);
          this.wakeRetry = resolve;
        });
        if (this.stopping) throw err;
      }
    }
  }

  /** Sends unavailable presence (when online) and closes the stream. */
  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.reconnectTimer);
    this.reconnectScheduled = false;
    this.wakeRetry?.();
    if (this.isOnline && !this.unavailableSent) {
      await this.send(xml("presence", { type: "unavailable" })).catch(() => {});
    }
    await this.safeStop();
  }

  send(stanza: XmlElement): Promise<void> {
    if (stanza.name === "presence" && !stanza.attrs.type && this.decorateAvailablePresence) stanza = this.decorateAvailablePresence(stanza);
    if (stanza.name === "presence" && !stanza.attrs.to && (!stanza.attrs.type || stanza.attrs.type === "unavailable")) {
      this.unavailableSent = stanza.attrs.type === "unavailable";
      this.lastAvailable = this.unavailableSent ? undefined : stanza;
    }
    return this.client.send(stanza);
  }

  /** The available presence last broadcast in this session, as sent; undefined if none or unavailable since. */
  get broadcastPresence(): XmlElement | undefined {
    return this.lastAvailable;
  }

  /** Sends an iq and returns the whole reply stanza (so callers can check its `from`). */
  request(stanza: XmlElement, timeout = this.iqTimeout): Promise<XmlElement> {
    return this.client.iqCaller.request(stanza, timeout);
  }

  private assertTransportAllowed(entity: XmppClient, policy: BotConfig["tls"]): void {
    if (entity.isSecure() || policy === "plaintext") return;
    const remote = entity.socket?.remoteAddress;
    if (policy === "plaintext-loopback" && isLoopbackAddress(remote)) return;
    throw new TlsPolicyError(
      policy === "plaintext-loopback"
        ? `refusing to authenticate over an unencrypted stream to ${remote}: plaintext is allowed only to a loopback address`
        : `refusing to authenticate over an unencrypted stream to ${remote ?? "the server"}: TLS is required (the server did not offer STARTTLS; set tls: plaintext-loopback only for a local test server)`,
    );
  }

  private async dispatch(stanza: XmlElement, payload: XmlElement | undefined, next: () => Promise<unknown>): Promise<unknown> {
    if (stanza.name === "iq") {
      const type = stanza.attrs.type;
      if ((type === "get" || type === "set") && payload) return this.router.routeIq(stanza, payload);
      return next();
    }
    if (stanza.name === "presence" || stanza.name === "message") await this.router.routeStanza(stanza);
    return next();
  }

  private onClientError(err: Error): void {
    // Reported by start() or by the reconnect attempt (one line per attempt).
    if (isPermanentFailure(err) || this.loggingIn) return;
    this.logger.warn({ err: err.message }, "connection error");
  }

  private onDisconnect(): void {
    this.dropUnresumableQueue();
    if (this.stopping || !this.established) return;
    if (this.sessionUp) {
      this.sessionUp = false;
      this.emit("offline");
    }
    // A failing reconnect attempt also disconnects; the attempt schedules the next one itself.
    if (!this.reconnecting) this.scheduleReconnect();
  }

  /** The sm-unresumable-queue fix (xmpp-patches): does nothing unless start-up found the bug. */
  private dropUnresumableQueue(): void {
    dropUnresumableQueue(this.client);
  }

  /** `failure`: why the last attempt failed (logged here, so that each attempt gets one line). */
  private scheduleReconnect(failure?: Error): void {
    if (this.stopping || this.reconnectScheduled) return;
    this.reconnectScheduled = true;
    const delay = backoffDelay(this.attempt, this.bot.reconnect);
    if (failure) this.logger.warn({ err: failure.message, attempt: this.attempt, delayMs: delay }, "reconnect failed; retrying");
    else this.logger.warn({ delayMs: delay }, "disconnected; reconnecting");
    this.reconnectTimer = setTimeout(() => {
      this.reconnectScheduled = false;
      void this.reconnect();
    }, delay);
  }

  /**
   * One reconnect attempt, up to a session (or resume). A failure at any step, also after the stream
   * opened (e.g. a password that stopped working), ends here: retried with backoff or fatal.
   */
  private async reconnect(): Promise<void> {
    if (this.stopping || this.isOnline || this.reconnecting) return;
    this.attempt++;
    this.reconnecting = true;
    try {
      await this.login();
      this.reconnecting = false;
    } catch (err) {
      if (this.stopping) {
        this.reconnecting = false;
        return;
      }
      if (isPermanentFailure(err)) {
        this.logger.error({ err: (err as Error).message }, "reconnect failed permanently");
        this.stopping = true;
        await this.safeStop();
        this.reconnecting = false;
        this.emit("fatal", err as Error);
        return;
      }
      await this.resetForRetry();
      this.reconnecting = false;
      this.scheduleReconnect(err as Error);
    }
  }

  /**
   * One attempt: connect, open, authenticate, bind, in turn with this process's other logins. Not
   * client.start(): when its open() fails, its wait for `online` stays pending and rejects unhandled
   * at the client's next error (ending the process); nor does it end when the server hangs up.
   */
  private login(): Promise<void> {
    return logins.run(async () => {
      if (this.stopping) throw new Error("stopped before connecting");
      this.loggingIn = true;
      try {
        const { service, domain, lang } = this.client.options;
        // connect() first waits for the previous connection's disconnect() to finish, which can
        // still emit a `disconnect`: watched from before, it would fail this attempt mid-login.
        await this.client.connect(service);
        const session = this.nextSession(this.iqTimeout);
        session.catch(() => {}); // awaited below; open() may fail first
        await this.client.open({ domain, lang });
        await session;
      } finally {
        this.loggingIn = false;
      }
    });
  }

  /** Resolves at the next session or resume; rejects on an error, a disconnect or a timeout first. */
  private nextSession(timeoutMs: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const cleanup = () => {
        clearTimeout(timer);
        this.off("session", onUp);
        this.off("resumed", onUp);
        this.client.off("error", onError);
        this.client.off("disconnect", onDown);
      };
      const onUp = () => {
        cleanup();
        resolve();
      };
      const onError = (err: Error) => {
        cleanup();
        reject(err);
      };
      const onDown = () => {
        cleanup();
        reject(new Error("disconnected before a session was established"));
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`no session within ${timeoutMs} ms`));
      }, timeoutMs);
      this.once("session", onUp);
      this.once("resumed", onUp);
      this.client.once("error", onError);
      this.client.once("disconnect", onDown);
    });
  }

  private async resetForRetry(): Promise<void> {
    const status = this.client.status;
    if (status !== "offline" && status !== "disconnect") {
      await this.client.disconnect().catch(() => {});
    }
  }

  private async safeStop(): Promise<void> {
    try {
      await this.client.stop();
    } catch {
      // The socket may already be gone; stopping is best effort.
    }
  }
}

/**
 * The domain the bot logs in to. JIDs are compared in U-labels, but a server knows its host in the
 * spelling of its own config (Prosody answers host-unknown for the other one), so a JID written
 * with A-labels logs in with them.
 */
export function loginDomain(canonical: string, asWritten: string | undefined): string {
  return asWritten === undefined ? canonical : domainOf(addressOf(asWritten));
}
