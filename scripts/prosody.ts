/**
 * A private Prosody for tests, the demo and benchmarks: its own config and data folder in a
 * temporary directory, a free loopback port, several VirtualHosts (contacts from several domains
 * without s2s), accounts written straight into Prosody's storage files before or while it runs.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ENSURE_SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), "ensure-prosody.sh");

/** Installs Prosody when missing (as root), or throws with the command to run. */
export function ensureProsody(): void {
  const r = spawnSync("bash", [ENSURE_SCRIPT], { stdio: ["ignore", "inherit", "pipe"], encoding: "utf8" });
  if (r.status !== 0) throw new Error(r.stderr.trim() || "Prosody is not available");
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** Prosody's storage file names: every non-alphanumeric byte becomes %xx. */
function encode(s: string): string {
  return Buffer.from(s, "utf8").toString("latin1").replace(/[^A-Za-z0-9]/g, (c) => "%" + c.charCodeAt(0).toString(16).padStart(2, "0"));
}

function luaString(s: string): string {
  return JSON.stringify(s).replace(/\\u([0-9a-f]{4})/gi, (_, h) => `\\u{${h}}`);
}

/** Why SQL roster storage cannot be used here, or undefined when it can. */
export function sqlUnavailable(): string | undefined {
  const dbi = spawnSync("lua5.4", ["-e", 'require "DBI"; require "dbd.sqlite3"'], { stdio: "ignore" });
  const cli = spawnSync("sqlite3", ["-version"], { stdio: "ignore" });
  if (dbi.status === 0 && cli.status === 0) return undefined;
  return "Prosody's SQLite storage needs the Debian packages lua-dbi-sqlite3 and sqlite3: apt-get install lua-dbi-sqlite3 sqlite3";
}

/** An SQL string literal. */
function sqlString(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

/** The port asked for is taken (a listener answers there): Prosody is not started. */
export class PortInUseError extends Error {
  constructor(readonly port: number) {
    super(`port ${port} is already in use (another XMPP server?)`);
    this.name = "PortInUseError";
  }
}

export interface RosterSeedItem {
  jid: string;
  name?: string;
  subscription?: "none" | "to" | "from" | "both";
  ask?: "subscribe";
  groups?: string[];
}

/** A roster item as the server stored it: `approved` is a pre-approval, which a roster get never shows. */
export interface StoredRosterItem extends RosterSeedItem {
  approved?: boolean;
}

/** Prints a Prosody roster file (a Lua table) as JSON lines, with Lua itself (Prosody's runtime). */
const DUMP_ROSTER_LUA = `
local t = dofile(os.getenv("PROSODY_ROSTER_FILE"))
local function q(s) return '"' .. s:gsub('[%c"\\\\]', function(c) return string.format("\\\\u%04x", c:byte()) end) .. '"' end
for jid, it in pairs(t) do
  if jid then
    local groups = {}
    for g in pairs(it.groups or {}) do groups[#groups + 1] = q(g) end
    local f = { '"jid":' .. q(jid), '"subscription":' .. q(it.subscription or "none"), '"groups":[' .. table.concat(groups, ",") .. ']' }
    if it.name then f[#f + 1] = '"name":' .. q(it.name) end
    if it.ask then f[#f + 1] = '"ask":' .. q(it.ask) end
    if it.approved then f[#f + 1] = '"approved":true' end
    print("{" .. table.concat(f, ",") .. "}")
  end
end
`;

export interface ProsodyOptions {
  hosts?: string[];
  /** mod_limits rate for client connections; Prosody's default (10 kB/s) throttles a busy bot. */
  c2sRate?: string;
  logLevel?: "debug" | "info" | "warn" | "error";
  /** A fixed port (default: a free one). */
  port?: number;
  /**
   * Where Prosody keeps rosters and pending requests: "internal" (default) files survive restart()
   * and can be seeded with writeRoster(), but are rewritten whole on every change; "memory" is much
   * faster under a flood of subscription traffic, and lost on restart (it too copies the whole roster
   * on every change); "sql" keeps rosters in SQLite (`roster.sqlite` in the data folder), one row
   * per contact, so a change writes a row or two: needs the Debian packages lua-dbi-sqlite3
   * (Prosody's driver) and sqlite3 (writeRoster seeds with it); see sqlUnavailable().
   */
  rosterStorage?: "internal" | "memory" | "sql";
  /**
   * Offer stream management (mod_smacks; default true). Prosody 0.12's mod_smacks can spin in a
   * CPU-bound stall when the server is pushed past its capacity (a flood test): turn it off there.
   */
  streamManagement?: boolean;
  /**
   * External components (XEP-0114) on `componentPort`, each speaking for its own domain: one
   * connection sends from any JID there, as a remote domain's traffic would arrive.
   */
  components?: { domain: string; secret: string }[];
  /**
   * Offer XEP-0191 blocking (default true): Prosody's mod_blocklist, ejabberd's mod_blocking (which
   * in 23.01 needs mod_privacy). False: a server without the feature, for the bot's fallback.
   */
  blocking?: boolean;
}

export class ProsodyServer {
  readonly kind = "prosody" as const;
  readonly dir: string;
  readonly dataDir: string;
  readonly configFile: string;
  private child: ChildProcess | undefined;

  private constructor(
    readonly port: number,
    readonly hosts: string[],
    private readonly options: ProsodyOptions,
    /** Where components connect (0 when the server has none). */
    readonly componentPort: number,
  ) {
    this.dir = mkdtempSync(path.join(os.tmpdir(), "roster-bot-prosody-"));
    this.dataDir = path.join(this.dir, "data");
    this.configFile = path.join(this.dir, "prosody.cfg.lua");
    mkdirSync(this.dataDir, { recursive: true });
    writeFileSync(this.configFile, this.config());
  }

  static async start(options: ProsodyOptions = {}): Promise<ProsodyServer> {
    ensureProsody();
    const componentPort = options.components?.length ? await freePort() : 0;
    const server = new ProsodyServer(options.port ?? (await freePort()), options.hosts ?? ["a.test", "b.test", "c.test"], options, componentPort);
    try {
      await server.startProcess();
    } catch (err) {
      await server.stop(); // no temporary folder (or half-started process) is left behind
      throw err;
    }
    return server;
  }

  /** The service URL a client connects to (plaintext on loopback). */
  get service(): string {
    return `xmpp://127.0.0.1:${this.port}`;
  }

  /**
   * The server's process id, e.g. to read its CPU time; undefined when not running. The child's own
   * pid (`prosody` is a script that `env` execs as lua5.4, keeping the pid): the pidfile may be
   * written a moment after the port accepts, and one left by a killed run is stale.
   */
  get pid(): number | undefined {
    const child = this.child;
    return child && child.exitCode === null && child.signalCode === null ? child.pid : undefined;
  }

  get logFile(): string {
    return path.join(this.dir, "prosody.log");
  }

  private config(): string {
    const rate = this.options.c2sRate ?? "100mb/s";
    return `-- generated by scripts/prosody.ts
-- No certificate here, so no STARTTLS: clients connect in plaintext on loopback.
run_as_root = true
pidfile = ${luaString(path.join(this.dir, "prosody.pid"))}
data_path = ${luaString(this.dataDir)}
plugin_paths = {}
modules_enabled = { "roster"; "saslauth"; "disco"; "ping"; "presence"; "message"; "iq";${this.options.streamManagement === false ? "" : ' "smacks";'}${this.options.blocking === false ? "" : ' "blocklist";'} "limits"; "offline" }
modules_disabled = { "s2s" }
c2s_ports = { ${this.port} }
c2s_interfaces = { "127.0.0.1" }
c2s_direct_tls_ports = {}
legacy_ssl_ports = {}
s2s_ports = {}
http_ports = {}
https_ports = {}
component_ports = { ${this.componentPort || ""} }
component_interfaces = { "127.0.0.1" }
c2s_require_encryption = false
allow_unencrypted_plain_auth = true
authentication = "internal_plain"
storage = ${this.storageConfig()}
limits = { c2s = { rate = ${luaString(rate)}; burst = "10s" } }
smacks_hibernation_time = 30
log = { { levels = { min = ${luaString(this.options.logLevel ?? (process.env.PROSODY_LOG_LEVEL) ?? "info")} }, to = "file", filename = ${luaString(this.logFile)} } }
${this.hosts.map((h) => `VirtualHost ${luaString(h)}`).join("\n")}
${(this.options.components ?? []).map((c) => `Component ${luaString(c.domain)}\n\tcomponent_secret = ${luaString(c.secret)}`).join("\n")}
`;
  }

  private get sqlDatabase(): string {
    return path.join(this.dataDir, "roster.sqlite");
  }

  private storageConfig(): string {
    switch (this.options.rosterStorage) {
      case "memory":
        return '{ roster = "memory" }';
      case "sql":
        // Only rosters: accounts stay in files, which createAccount() writes.
        return `{ roster = "sql" }\nsql = { driver = "SQLite3", database = ${luaString(this.sqlDatabase)} }`;
      default:
        return '"internal"';
    }
  }

  private async startProcess(): Promise<void> {
    // Another server on the port would answer our readiness probe and hide a failed start.
    if (await canConnect(this.port)) throw new PortInUseError(this.port);
    const child = spawn("prosody", ["--config", this.configFile, "-F"], { stdio: ["ignore", "pipe", "pipe"] });
    this.child = child;
    let output = "";
    child.stdout?.on("data", (d) => (output += d));
    child.stderr?.on("data", (d) => (output += d));
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`prosody exited (${child.exitCode}): ${output}\n${this.readLog()}`);
      if (await canConnect(this.port)) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    child.kill("SIGKILL");
    throw new Error(`prosody did not listen on ${this.port} within 15 s: ${output}\n${this.readLog()}`);
  }

  readLog(): string {
    try {
      return readFileSync(this.logFile, "utf8");
    } catch {
      return "";
    }
  }

  /** Creates (or resets the password of) an account; works while the server runs. */
  createAccount(user: string, host: string, password: string): string {
    const dir = path.join(this.dataDir, encode(host), "accounts");
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, `${encode(user)}.dat`), `return {\n\t["password"] = ${luaString(password)};\n};\n`);
    return `${user}@${host}`;
  }

  createAccounts(accounts: readonly { user: string; host: string; password: string }[]): string[] {
    return accounts.map((a) => this.createAccount(a.user, a.host, a.password));
  }

  /**
   * Writes an account's roster straight into storage (for large fixtures). Only while the account
   * is offline: Prosody caches rosters of online users.
   */
  writeRoster(user: string, host: string, items: RosterSeedItem[], version = 1): void {
    if (this.options.rosterStorage === "sql") return this.writeSqlRoster(user, host, items, version);
    const dir = path.join(this.dataDir, encode(host), "roster");
    mkdirSync(dir, { recursive: true });
    const lines = [`return {`, `\t[false] = { ["version"] = ${version}; ["pending"] = {}; };`];
    for (const it of items) {
      const groups = (it.groups ?? []).map((g) => `[${luaString(g)}] = true;`).join(" ");
      const fields = [
        `["subscription"] = ${luaString(it.subscription ?? "none")};`,
        `["groups"] = { ${groups} };`,
        it.name !== undefined ? `["name"] = ${luaString(it.name)};` : "",
        it.ask ? `["ask"] = ${luaString(it.ask)};` : "",
      ].join(" ");
      lines.push(`\t[${luaString(it.jid)}] = { ${fields} };`);
    }
    lines.push("};", "");
    writeFileSync(path.join(dir, `${encode(user)}.dat`), lines.join("\n"));
  }

  /** An account's roster as stored (internal storage only), pre-approvals included. */
  readStoredRoster(user: string, host: string): StoredRosterItem[] {
    if (this.options.rosterStorage && this.options.rosterStorage !== "internal") throw new Error("readStoredRoster reads internal storage only");
    const file = path.join(this.dataDir, encode(host), "roster", `${encode(user)}.dat`);
    if (!existsSync(file)) return [];
    const r = spawnSync("lua5.4", ["-e", DUMP_ROSTER_LUA], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, PROSODY_ROSTER_FILE: file } });
    if (r.status !== 0) throw new Error(`could not read ${file}: ${r.stderr}`);
    return r.stdout.split("\n").filter(Boolean).map((l) => JSON.parse(l) as StoredRosterItem);
  }

  /**
   * The same into SQLite: one row per contact as mod_storage_sql stores a roster (JSON values; the
   * version row under key "" in util.json's form for a non-string key). The table is created as
   * Prosody creates it, which then leaves it be.
   */
  private writeSqlRoster(user: string, host: string, items: RosterSeedItem[], version: number): void {
    const row = (key: string, value: unknown) =>
      `INSERT INTO "prosody" VALUES (${sqlString(host)},${sqlString(user)},'roster',${sqlString(key)},'json',${sqlString(JSON.stringify(value))});`;
    const lines = [
      "BEGIN;",
      'CREATE TABLE IF NOT EXISTS "prosody" ("host" TEXT NOT NULL, "user" TEXT NOT NULL, "store" TEXT NOT NULL, "key" TEXT NOT NULL, "type" TEXT NOT NULL, "value" MEDIUMTEXT NOT NULL);',
      'CREATE INDEX IF NOT EXISTS "prosody_index" ON "prosody" ("host", "user", "store", "key");',
      `DELETE FROM "prosody" WHERE "host"=${sqlString(host)} AND "user"=${sqlString(user)} AND "store"='roster';`,
      row("", { __hash: [false, { version, pending: {} }] }),
    ];
    for (const it of items) {
      const groups = Object.fromEntries((it.groups ?? []).map((g) => [g, true]));
      lines.push(row(it.jid, { subscription: it.subscription ?? "none", groups, ...(it.name !== undefined ? { name: it.name } : {}), ...(it.ask ? { ask: it.ask } : {}) }));
    }
    lines.push("COMMIT;", "");
    const r = spawnSync("sqlite3", [this.sqlDatabase], { input: lines.join("\n"), encoding: "utf8", stdio: ["pipe", "ignore", "pipe"] });
    if (r.status !== 0) throw new Error(`sqlite3 could not write the roster: ${r.stderr || r.error?.message}`);
  }

  /** Stops the process (SIGTERM, then SIGKILL after 5 s). Keeps the data for restart(). */
  async stopProcess(): Promise<void> {
    await stopChild(this.child);
  }

  /** Stops and starts again on the same port with the same data. */
  async restart(): Promise<void> {
    await this.stopProcess();
    await this.startProcess();
  }

  /** Stops the server and removes its folder. */
  async stop(): Promise<void> {
    await this.stopProcess();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Stops a server process: SIGTERM (an orderly shutdown), SIGKILL after 5 s. */
export async function stopChild(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
  await exited;
  clearTimeout(timer);
}

/** Whether something accepts connections on the loopback port. */
export function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, "127.0.0.1");
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}
