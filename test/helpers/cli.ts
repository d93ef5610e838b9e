/** `node bin/roster-bot.js` as a separate process, its stdout and stderr read together. */
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { REPO_ROOT } from "./tmp.ts";

const BIN = path.join(REPO_ROOT, "bin/roster-bot.js");

export interface Run {
  child: ChildProcess;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  waitForOutput: (re: RegExp, timeoutMs?: number) => Promise<void>;
}

/** Runs the CLI in `cwd`; XMPP_DEBUG and ROSTER_BOT_CONFIG are cleared unless `env` sets them. */
export function spawnCli(args: string[], { cwd, env = {} }: { cwd: string; env?: Record<string, string> }): Run {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd,
    env: { ...process.env, XMPP_DEBUG: "", ROSTER_BOT_CONFIG: "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  const listeners = new Set<() => void>();
  const onData = (d: Buffer) => {
    out += d.toString();
    for (const l of listeners) l();
  };
  child.stdout.on("data", onData);
  child.stderr.on("data", onData);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  const waitForOutput = (re: RegExp, timeoutMs = 20_000) =>
    new Promise<void>((resolve, reject) => {
      const check = () => {
        if (!re.test(out)) return;
        cleanup();
        resolve();
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`no output matching ${re} within ${timeoutMs} ms; output:\n${out}`));
      }, timeoutMs);
      const onExit = () => {
        // Let the last chunks arrive before giving up.
        setTimeout(() => {
          if (re.test(out)) return check();
          cleanup();
          reject(new Error(`process exited before printing ${re}; output:\n${out}`));
        }, 100);
      };
      const cleanup = () => {
        clearTimeout(timer);
        listeners.delete(check);
        child.off("exit", onExit);
      };
      listeners.add(check);
      child.once("exit", onExit);
      check();
    });
  return { child, output: () => out, exited, waitForOutput };
}

export async function kill(run: Run): Promise<void> {
  if (run.child.exitCode === null && run.child.signalCode === null) {
    run.child.kill("SIGKILL");
    await run.exited;
  }
}

/** Runs `roster-bot ARGV…` in this process (bots/cli.ts main), collecting its stdout and stderr. */
export async function cliInProcess(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const { main } = await import("../../bots/cli.ts");
  let out = "";
  let err = "";
  const code = await main(argv, { out: (s) => void (out += s), err: (s) => void (err += s) });
  return { code, out, err };
}
