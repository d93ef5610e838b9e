/**
 * `npm run local-server` (scripts/local-server.ts): a taken port is one line on stderr and exit 1,
 * and however it ends (that failure, SIGTERM, Ctrl-C, a signal while Prosody starts) it leaves no
 * temporary folder and no Prosody behind.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { canConnect, freePort } from "../../scripts/prosody.ts";
import { serverKind } from "../../scripts/xmpp-server.ts";
import { REPO_ROOT } from "../helpers/tmp.ts";
import { until } from "../helpers/wait.ts";

const TSX = path.join(REPO_ROOT, "node_modules", "tsx", "dist", "cli.mjs");
const SCRIPT = path.join(REPO_ROOT, "scripts", "local-server.ts");

/** The script's own temporary folders (tsx keeps its cache in TMPDIR too). */
const prosodyFolders = (dir: string) => readdirSync(dir).filter((f) => f.startsWith("roster-bot-prosody-"));

// `npm run local-server` starts Prosody whatever XMPP_SERVER says: the Prosody run covers it, the ejabberd run would repeat it.
describe.skipIf(serverKind() === "ejabberd")("npm run local-server", () => {
  let tmp: string;
  const started: ChildProcess[] = [];
  beforeEach(() => {
    tmp = mkdtempSync(path.join(os.tmpdir(), "local-server-test-"));
  });
  afterEach(() => {
    // A failed test may leave the script running: stop it (it stops its Prosody).
    for (const child of started.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    rmSync(tmp, { recursive: true, force: true });
  });

  /** Runs the script as `npm run local-server` does (tsx), with its temporary folders in `tmp`. */
  function run(env: Record<string, string>, options: { detached?: boolean } = {}) {
    const child = spawn(process.execPath, [TSX, SCRIPT], {
      cwd: REPO_ROOT,
      env: { ...process.env, TMPDIR: tmp, ROSTER_BOT_PASSWORD: "secret", ...env },
      stdio: ["ignore", "pipe", "pipe"],
      detached: options.detached,
    });
    started.push(child);
    const out = { stdout: "", stderr: "" };
    child.stdout.on("data", (d) => (out.stdout += d));
    child.stderr.on("data", (d) => (out.stderr += d));
    const exited = new Promise<number | null>((resolve) => child.once("close", (code) => resolve(code)));
    return { child, out, exited };
  }

  it("a port in use: one line on stderr naming the port and PORT, exit 1, no temporary folder", async () => {
    const holder = net.createServer((s) => s.destroy());
    await new Promise<void>((resolve) => holder.listen(0, "127.0.0.1", resolve));
    const port = (holder.address() as net.AddressInfo).port;
    try {
      const { out, exited } = run({ PORT: String(port) });
      expect(await exited).toBe(1);
      expect(out.stderr.split("\n").filter(Boolean)).toEqual([
        `local-server: port ${port} is already in use (another XMPP server?); choose another, e.g. PORT=${port + 1} npm run local-server, and start the bot with the same PORT`,
      ]);
      expect(out.stdout).not.toContain("Prosody listening");
      expect(prosodyFolders(tmp)).toEqual([]);
    } finally {
      holder.close();
    }
  });

  it("a PORT that is not a port: one line, exit 2", async () => {
    const { out, exited } = run({ PORT: "52x22" });
    expect(await exited).toBe(2);
    expect(out.stderr).toBe('local-server: PORT must be a port number from 1 to 65535, not "52x22"\n');
    expect(prosodyFolders(tmp)).toEqual([]);
  });

  it("listens on PORT; SIGTERM stops Prosody, deletes its folder and exits 0", async () => {
    const port = await freePort();
    const { child, out, exited } = run({ PORT: String(port) });
    await until(() => out.stdout.includes("Ctrl-C stops the server"), 20_000, `the server to start; output: ${out.stdout}${out.stderr}`);
    expect(out.stdout).toContain(`Prosody listening on xmpp://127.0.0.1:${port}`);
    expect(out.stdout).toContain(`Now, in another terminal: PORT=${port} ROSTER_BOT_PASSWORD=... npm start`);
    expect(await canConnect(port)).toBe(true);
    expect(prosodyFolders(tmp)).toHaveLength(1);
    child.kill("SIGTERM");
    expect(await exited).toBe(0);
    expect(out.stderr).toBe("");
    expect(prosodyFolders(tmp)).toEqual([]);
    expect(await canConnect(port)).toBe(false);
  });

  it("Ctrl-C (SIGINT to the whole process group, Prosody included) cleans up the same way", async () => {
    const port = await freePort();
    const { child, out, exited } = run({ PORT: String(port) }, { detached: true });
    await until(() => out.stdout.includes("Ctrl-C stops the server"), 20_000, `the server to start; output: ${out.stdout}${out.stderr}`);
    process.kill(-child.pid!, "SIGINT");
    expect(await exited).toBe(0);
    expect(prosodyFolders(tmp)).toEqual([]);
    expect(await canConnect(port)).toBe(false);
  });

  it("a signal while Prosody is starting: the start is undone, nothing is left", async () => {
    const port = await freePort();
    const { child, out, exited } = run({ PORT: String(port) });
    // The folder is made just before Prosody is spawned and probed until it listens.
    await until(() => prosodyFolders(tmp).length > 0, 20_000, "the temporary folder");
    child.kill("SIGTERM");
    expect(await exited).toBe(0);
    expect(out.stderr).toBe("");
    expect(prosodyFolders(tmp)).toEqual([]);
    expect(await canConnect(port)).toBe(false);
  });
});
