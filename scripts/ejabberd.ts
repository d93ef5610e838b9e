/**
 * A private ejabberd (Debian's package) for tests: the Erlang VM started directly, as ejabberdctl
 * would start it, but with a private node name, a random cookie and its own distribution port (no
 * epmd), so several instances run side by side and none touches the machine-wide one. Config,
 * Mnesia data and logs live in a temporary folder. Accounts and rosters are written through Erlang
 * distribution (erl_call) into the running node.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { canConnect, freePort, PortInUseError, stopChild, type RosterSeedItem, type StoredRosterItem } from "./prosody.ts";
import type { TestServerOptions, XmppTestServer } from "./xmpp-server.ts";

const ENSURE_SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), "ensure-ejabberd.sh");
const EJABBERDCTL = "/usr/sbin/ejabberdctl";
const ERL_CALL = "/usr/lib/erlang/bin/erl_call";
/** The applications whose code a client's stream runs through. */
const PRELOADED_APPS = ["xmpp", "ejabberd", "fast_xml", "stringprep", "p1_utils", "cache_tab"];

/** Installs ejabberd when missing (as root), or throws with the command to run. */
export function ensureEjabberd(): void {
  const r = spawnSync("bash", [ENSURE_SCRIPT], { stdio: ["ignore", "inherit", "pipe"], encoding: "utf8" });
  if (r.status !== 0) throw new Error(r.stderr.trim() || "ejabberd is not available");
}

/** Where Debian installs ejabberd's Erlang applications: the ERL_LIBS ejabberdctl sets (per architecture). */
function erlLibs(): string {
  const m = /^ERL_LIBS='([^']+)'/m.exec(readFileSync(EJABBERDCTL, "utf8"));
  if (!m) throw new Error(`${EJABBERDCTL} does not set ERL_LIBS`);
  return m[1]!;
}

/** An Erlang binary literal of the UTF-8 bytes (erl_call reads its input as Latin-1). */
function erlBinary(s: string): string {
  return `<<${[...Buffer.from(s, "utf8")].join(",")}>>`;
}

/** A YAML double-quoted string (JSON's escapes are YAML's). */
function yamlString(s: string): string {
  return JSON.stringify(s);
}

/** A JID split as stored, without any normalisation: "node@domain/resource". */
function rawJidParts(jid: string): [string, string, string] {
  const slash = jid.indexOf("/");
  const bare = slash < 0 ? jid : jid.slice(0, slash);
  const resource = slash < 0 ? "" : jid.slice(slash + 1);
  const at = bare.indexOf("@");
  return at < 0 ? ["", bare, resource] : [bare.slice(0, at), bare.slice(at + 1), resource];
}

/** Prosody-style rates ("10kb/s", "100mb/s") as bytes per second for an ejabberd shaper. */
export function shaperRate(rate: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmg]?)b?\s*\/\s*s\s*$/i.exec(rate);
  if (!m) throw new Error(`c2sRate ${JSON.stringify(rate)} is not a rate like "10kb/s"`);
  const scale = { "": 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2]!.toLowerCase() as "" | "k" | "m" | "g"];
  return Math.round(Number(m[1]) * scale);
}

interface Account {
  user: string;
  host: string;
  password: string;
}

export class EjabberdServer implements XmppTestServer {
  readonly kind = "ejabberd" as const;
  readonly dir: string;
  /** Mnesia's folder: accounts, rosters, offline messages. */
  readonly dataDir: string;
  readonly configFile: string;
  readonly logFile: string;
  /** The Erlang node's name and cookie: only erl_call with both reaches it. */
  readonly node = `roster-bot-${randomBytes(4).toString("hex")}@127.0.0.1`;
  private readonly cookie = randomBytes(16).toString("hex");
  private child: ChildProcess | undefined;
  private output = "";
  private readonly accountsForNextStart: Account[] = [];

  private constructor(
    readonly port: number,
    readonly hosts: string[],
    private readonly options: TestServerOptions,
    readonly componentPort: number,
    /** The node's Erlang distribution port (what epmd would otherwise hand out). */
    readonly distPort: number,
  ) {
    this.dir = mkdtempSync(path.join(os.tmpdir(), "roster-bot-ejabberd-"));
    this.dataDir = path.join(this.dir, "mnesia");
    this.configFile = path.join(this.dir, "ejabberd.yml");
    this.logFile = path.join(this.dir, "ejabberd.log");
    mkdirSync(this.dataDir, { recursive: true });
    writeFileSync(this.configFile, this.config());
  }

  static async start(options: TestServerOptions = {}): Promise<EjabberdServer> {
    ensureEjabberd();
    const port = options.port ?? (await freePort());
    const componentPort = options.components?.length ? await freePort() : 0;
    const server = new EjabberdServer(port, options.hosts ?? ["a.test", "b.test", "c.test"], options, componentPort, await freePort());
    try {
      await server.startProcess();
    } catch (err) {
      await server.stop();
      throw err;
    }
    return server;
  }

  get service(): string {
    return `xmpp://127.0.0.1:${this.port}`;
  }

  /** The beam process (erl execs erlexec, which execs the emulator: same pid). */
  get pid(): number | undefined {
    const child = this.child;
    return child && child.exitCode === null && child.signalCode === null ? child.pid : undefined;
  }

  private config(): string {
    const level = { debug: "debug", info: "info", warn: "warning", error: "error" }[this.options.logLevel ?? "info"];
    const rate = shaperRate(this.options.c2sRate ?? "100mb/s");
    const components = this.options.components ?? [];
    const service = components.length
      ? `  - port: ${this.componentPort}
    ip: "127.0.0.1"
    module: ejabberd_service
    backlog: 1024
    hosts:
${components.map((c) => `      ${yamlString(c.domain)}:\n        password: ${yamlString(c.secret)}`).join("\n")}
`
      : "";
    return `# generated by scripts/ejabberd.ts
# No certificate here, so no STARTTLS: clients connect in plaintext on loopback (PLAIN offered).
hosts:
${this.hosts.map((h) => `  - ${yamlString(h)}`).join("\n")}
loglevel: ${level}
log_rotate_count: 0
# Plain storage: every SASL mechanism works (SCRAM and PLAIN).
auth_method: internal
auth_password_format: plain
# No s2s: stanzas to other domains fail at once (as with Prosody's s2s disabled).
s2s_access: none
shaper:
  c2s_rate: ${rate}
listen:
  - port: ${this.port}
    ip: "127.0.0.1"
    module: ejabberd_c2s
    # The default backlog (5) and shaper throttle crowds of test clients.
    backlog: 1024
    shaper: c2s_rate
    max_stanza_size: 262144
    starttls_required: false
${service}modules:
  mod_roster:
    versioning: true
    # Without it every roster change rehashes the whole roster to answer the next version check.
    store_current_id: true
    # writeRoster() writes Mnesia behind mod_roster's back: no cache may hide it.
    use_cache: false
  mod_disco: {}
  mod_ping: {}
  mod_caps: {}
  mod_offline: {}
${this.options.blocking === false ? "" : "  mod_blocking: {}\n  mod_privacy: {}\n"}${this.options.streamManagement === false ? "" : "  mod_stream_mgmt:\n    resume_timeout: 30\n"}`;
  }

  private async startProcess(): Promise<void> {
    if (await canConnect(this.port)) throw new PortInUseError(this.port);
    const args = [
      "-name", this.node,
      "-setcookie", this.cookie,
      // Distribution on a fixed loopback port, without epmd (which is machine-wide).
      "-erl_epmd_port", String(this.distPort),
      "-start_epmd", "false",
      "-kernel", "inet_dist_use_interface", "{127,0,0,1}",
      "-noinput",
      "+K", "true",
      "+P", "250000",
      "-mnesia", "dir", JSON.stringify(this.dataDir),
      // Load the XMPP code before ejabberd opens its ports: the VM loads modules on first use, and
      // on a busy machine the first streams after a (re)start then outlast a client's open timeout
      // (xmpp.js: 2 s), the bot's reconnects included.
      "-eval", `[begin application:load(A), {ok, Ms} = application:get_key(A, modules), [code:ensure_loaded(M) || M <- Ms] end || A <- [${PRELOADED_APPS.join(", ")}]]`,
      "-s", "ejabberd",
    ];
    const child = spawn("erl", args, {
      cwd: this.dir,
      stdio: ["ignore", "pipe", "pipe"],
      env: {
        ...process.env,
        ERL_LIBS: erlLibs(),
        EJABBERD_CONFIG_PATH: this.configFile,
        EJABBERD_LOG_PATH: this.logFile,
        ERL_CRASH_DUMP_BYTES: "0",
        ERL_MAX_PORTS: "32000",
        ERL_MAX_ETS_TABLES: "1400",
      },
    });
    this.child = child;
    // A test process that dies without stop() must not leave a VM behind (it would keep its ports).
    const killOnExit = () => child.kill("SIGKILL");
    process.once("exit", killOnExit);
    child.once("exit", () => process.removeListener("exit", killOnExit));
    this.output = "";
    // The console logger repeats the log on stdout: keep only the tail for error messages.
    const keep = (d: Buffer) => (this.output = (this.output + d.toString()).slice(-20_000));
    child.stdout?.on("data", keep);
    child.stderr?.on("data", keep);
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`ejabberd exited (${child.exitCode ?? child.signalCode}): ${this.output}`);
      // The c2s port can accept before the account and roster tables are loaded, and before the
      // hosts' auth backends are up (a registration then fails with not_allowed).
      if ((await canConnect(this.port)) && this.tablesReady() && this.applicationStarted()) {
        this.createAccounts(this.accountsForNextStart.splice(0));
        return;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    child.kill("SIGKILL");
    throw new Error(`ejabberd did not listen on ${this.port} within 30 s: ${this.output}`);
  }

  /** ejabberd's application start has returned: every host and module is started. */
  private applicationStarted(): boolean {
    try {
      return this.rpc("lists:keymember(ejabberd, 1, application:which_applications()).") === "true";
    } catch {
      return false;
    }
  }

  private tablesReady(): boolean {
    try {
      return this.rpc("mnesia:wait_for_tables([passwd, roster, roster_version], 1000).") === "ok";
    } catch {
      return false;
    }
  }

  readLog(): string {
    try {
      return readFileSync(this.logFile, "utf8");
    } catch {
      return "";
    }
  }

  /**
   * Evaluates Erlang expressions in the running node and returns the printed result term. erl_call
   * is a small C program (no VM start), so a call costs milliseconds.
   */
  rpc(expressions: string): string {
    if (this.pid === undefined) throw new Error("ejabberd is not running");
    const r = spawnSync(ERL_CALL, ["-address", `127.0.0.1:${this.distPort}`, "-c", this.cookie, "-timeout", "30", "-e"], {
      input: expressions + "\n",
      encoding: "latin1",
    });
    if (r.status !== 0 || !r.stdout.startsWith("{ok,")) throw new Error(`erl_call failed (${r.status}): ${r.stdout}${r.stderr}${r.error?.message ?? ""}`);
    return r.stdout.slice(4, r.stdout.lastIndexOf("}")).trim();
  }

  /**
   * Evaluates Erlang expressions whose last value jiffy can encode, and returns it decoded. The
   * value travels through a file: erl_call cuts long binaries short when it prints them.
   */
  rpcJson<T>(expressions: string): T {
    const file = path.join(this.dir, `rpc-${randomBytes(4).toString("hex")}.json`);
    try {
      this.rpc(`ok = file:write_file(${erlBinary(file)}, jiffy:encode(begin ${expressions} end)).`);
      return JSON.parse(readFileSync(file, "utf8")) as T;
    } finally {
      rmSync(file, { force: true });
    }
  }

  createAccount(user: string, host: string, password: string): string {
    this.createAccounts([{ user, host, password }]);
    return `${user}@${host}`;
  }

  /**
   * Creates (or resets the passwords of) many accounts in one call. While the process is stopped
   * they are kept and written once it has started again (as Prosody's files would be read then):
   * after its port opens, so a client that logs in at once may still meet the old password.
   */
  createAccounts(accounts: readonly Account[]): string[] {
    if (this.pid === undefined) {
      this.accountsForNextStart.push(...accounts);
      return accounts.map((a) => `${a.user}@${a.host}`);
    }
    if (accounts.length === 0) return [];
    const list = accounts.map((a) => `{${erlBinary(a.user)},${erlBinary(a.host)},${erlBinary(a.password)}}`).join(",");
    const result = this.rpc(`[case ejabberd_auth:try_register(U, S, P) of
  ok -> ok;
  {error, exists} -> ejabberd_auth:set_password(U, S, P);
  Err -> Err
end || {U, S, P} <- [${list}]].`);
    const failed = result.replace(/[[\]\s]/g, "").split(",").filter((r) => r !== "ok");
    if (failed.length) throw new Error(`ejabberd did not create the accounts: ${result}`);
    return accounts.map((a) => `${a.user}@${a.host}`);
  }

  /**
   * Replaces an account's roster in Mnesia (mod_roster's `roster` records), JIDs exactly as given:
   * the item's JID is stored un-normalised, as legacy data would be. `ask: "subscribe"` is an
   * outgoing pending request (ejabberd's `out`). Only while the account is offline. The version is
   * stored as mod_roster's current id (store_current_id), as its decimal string.
   */
  writeRoster(user: string, host: string, items: RosterSeedItem[], version = 1): void {
    // ejabberd 23.01 makes a JID of every stored item when it answers a roster get, and crashes
    // (the client never gets its result) on one that fails stringprep (`a b@x.org`, an overlong
    // label); `Dup@x`, `bad@@x` or `x@a..b` come back as stored. Refuse the first kind here.
    const ljids = items.map((it) => `{${rawJidParts(it.jid).map(erlBinary).join(",")}}`);
    const unservable = this.rpcJson<number[]>(`[I || {I, L} <- lists:zip(lists:seq(1, ${items.length}), [${ljids.join(",")}]), jid:make(L) == error]`);
    const bad = unservable.map((i) => items[i - 1]!.jid);
    if (bad.length) throw new Error(`ejabberd cannot serve these roster items (a roster get would crash): ${bad.join(", ")}`);
    const records = items.map((it) => {
      const [n, d, r] = rawJidParts(it.jid).map(erlBinary);
      return `{roster, {LU, LS, {${n}, ${d}, ${r}}}, {LU, LS}, {${n}, ${d}, ${r}}, ${erlBinary(it.name ?? "")}, ${it.subscription ?? "none"}, ${it.ask ? "out" : "none"}, [${(it.groups ?? []).map(erlBinary).join(",")}], <<>>, []}`;
    });
    this.rpc(`LU = jid:nodeprep(${erlBinary(user)}), LS = jid:nameprep(${erlBinary(host)}),
[mnesia:dirty_delete_object(R) || R <- mnesia:dirty_index_read(roster, {LU, LS}, 3)],
[mnesia:dirty_write(R) || R <- [${records.join(",\n")}]],
mnesia:dirty_write({roster_version, {LU, LS}, ${erlBinary(String(version))}}).`);
  }

  /** SIGTERM makes the VM shut down in order (init:stop): Mnesia is closed cleanly. */
  /**
   * An account's roster as mod_roster stored it. ejabberd keeps no pre-approval state (it drops an
   * unsolicited `subscribed`), so `approved` never appears; `ask` is set for an outgoing request.
   */
  readStoredRoster(user: string, host: string): StoredRosterItem[] {
    const rows = this.rpcJson<{ jid: [string, string, string]; name: string; subscription: StoredRosterItem["subscription"]; ask: string; groups: string[] }[]>(`
LU = jid:nodeprep(${erlBinary(user)}), LS = jid:nameprep(${erlBinary(host)}),
[#{jid => [U, S, R], name => N, subscription => Sub, ask => A, groups => G}
  || {roster, _, _, {U, S, R}, N, Sub, A, G, _, _} <- mnesia:dirty_index_read(roster, {LU, LS}, 3)]`);
    return rows.map((r) => ({
      jid: (r.jid[0] ? `${r.jid[0]}@` : "") + r.jid[1] + (r.jid[2] ? `/${r.jid[2]}` : ""),
      subscription: r.subscription,
      groups: r.groups,
      ...(r.name ? { name: r.name } : {}),
      ...(r.ask === "out" || r.ask === "both" ? { ask: "subscribe" as const } : {}),
    }));
  }

  async stopProcess(): Promise<void> {
    await stopChild(this.child);
  }

  async restart(): Promise<void> {
    await this.stopProcess();
    await this.startProcess();
  }

  async stop(): Promise<void> {
    await this.stopProcess();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
