/**
 * The XMPP server the integration tests run against, chosen by XMPP_SERVER=prosody|ejabberd
 * (default prosody). Both are private instances on free loopback ports with their own data folder,
 * several virtual hosts, accounts and (where asked) external components; tests see only this
 * interface, so one suite runs on either server.
 */
import { EjabberdServer } from "./ejabberd.ts";
import { ProsodyServer, type ProsodyOptions, type RosterSeedItem, type StoredRosterItem } from "./prosody.ts";

export type ServerKind = "prosody" | "ejabberd";

export const SERVER_KINDS: readonly ServerKind[] = ["prosody", "ejabberd"];

/** What a test may ask of either server (Prosody-only storage options stay on ProsodyServer). */
export type TestServerOptions = Pick<ProsodyOptions, "hosts" | "c2sRate" | "logLevel" | "port" | "streamManagement" | "components" | "blocking">;

export interface XmppTestServer {
  readonly kind: ServerKind;
  readonly port: number;
  readonly hosts: string[];
  /** Where components connect (0 when the server has none). */
  readonly componentPort: number;
  /** The server's private folder (config, logs, data), removed by stop(). */
  readonly dir: string;
  readonly dataDir: string;
  readonly logFile: string;
  /** The service URL a client connects to (plaintext on loopback). */
  readonly service: string;
  /** The server's OS process id, e.g. to read its CPU time; undefined when not running. */
  readonly pid: number | undefined;
  readLog(): string;
  /** Creates (or resets the password of) an account; works while the server runs. */
  createAccount(user: string, host: string, password: string): string;
  /** Many accounts at once (ejabberd: one call into the server instead of one per account). */
  createAccounts(accounts: readonly { user: string; host: string; password: string }[]): string[];
  /**
   * Writes an account's roster straight into the server's storage, JIDs exactly as given (legacy or
   * malformed data included). Only while the account is offline.
   */
  writeRoster(user: string, host: string, items: RosterSeedItem[], version?: number): void;
  /**
   * An account's roster as the server stored it, with what a roster get does not show (Prosody's
   * pre-approvals); for tests that check what the bot made the server keep.
   */
  readStoredRoster(user: string, host: string): StoredRosterItem[];
  /** Stops the process, keeping the data for restart(). */
  stopProcess(): Promise<void>;
  /** Stops and starts again on the same port with the same data. */
  restart(): Promise<void>;
  /** Stops the server and removes its folder. */
  stop(): Promise<void>;
}

/** The server chosen for this run; a bad XMPP_SERVER is an error, not a silent default. */
export function serverKind(env: NodeJS.ProcessEnv = process.env): ServerKind {
  const value = env.XMPP_SERVER?.trim() || "prosody";
  if ((SERVER_KINDS as readonly string[]).includes(value)) return value as ServerKind;
  throw new Error(`XMPP_SERVER must be one of ${SERVER_KINDS.join(", ")} (got ${JSON.stringify(value)})`);
}

/** Starts a private instance of the chosen server. */
export async function startServer(options: TestServerOptions = {}, kind: ServerKind = serverKind()): Promise<XmppTestServer> {
  switch (kind) {
    case "prosody":
      return ProsodyServer.start(options);
    case "ejabberd":
      return EjabberdServer.start(options);
  }
}

export type { RosterSeedItem, StoredRosterItem };
