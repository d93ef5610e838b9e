/**
 * `roster-bot run`'s log output as an operator sees it: a separate process whose server is down
 * (a loopback port nothing listens on), so it retries until it is stopped.
 */
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { kill, spawnCli, type Run } from "../helpers/cli.ts";
import { lines, tempDir, type TempDir } from "../helpers/tmp.ts";

let tmp: TempDir;
let configFile: string;

/** A loopback port with nothing listening (taken, then released). */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

beforeAll(async () => {
  tmp = tempDir("cli-logs-");
  configFile = tmp.write(
    "down.yaml",
    lines(
      "log: { level: error }",
      "bots:",
      "  - id: down",
      "    jid: down-bot@a.test",
      "    password: ${DOWN_BOT_PASSWORD}",
      `    service: xmpp://127.0.0.1:${await closedPort()}`,
      "    tls: plaintext-loopback",
      "    reconnect: { initialDelay: 100ms, maxDelay: 400ms }",
    ),
  );
});
afterAll(() => tmp?.remove());

function run(args: string[], env: Record<string, string> = {}): Run {
  return spawnCli(["run", "--config", configFile, ...args], { cwd: tmp.dir, env: { DOWN_BOT_PASSWORD: "down-pw-7", LOG_LEVEL: "", ...env } });
}

function jsonLines(output: string): Record<string, unknown>[] {
  return output.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as Record<string, unknown>);
}

const RETRY = "connection failed; retrying";

describe("roster-bot run: logs while the server is down", () => {
  it("one line per attempt with its number and the next delay; SIGTERM while retrying exits 0 with no error line", async () => {
    const bot = run(["--log-level", "info", "--log-format", "json"]);
    try {
      await bot.waitForOutput(/"attempt":4,/);
      bot.child.kill("SIGTERM");
      const { code, signal } = await bot.exited;
      expect({ code, signal }).toEqual({ code: 0, signal: null });

      const logged = jsonLines(bot.output());
      const warnings = logged.filter((l) => (l.level as number) >= 40);
      // Nothing else at warn or above: no second line per attempt, no error after the shutdown.
      expect(warnings.every((l) => l.msg === RETRY && l.level === 40)).toBe(true);
      expect(warnings.map((l) => l.attempt)).toEqual(warnings.map((_, i) => i + 1));
      for (const w of warnings) {
        expect(w.err).toMatch(/ECONNREFUSED/);
        expect(w.delayMs).toBeGreaterThan(0);
        expect(w.delayMs).toBeLessThanOrEqual(400);
      }
      // The shutdown is logged, and the start it cut short is not an error.
      expect(logged.map((l) => l.msg).slice(-2).sort()).toEqual(['bot "down" stopped before it connected', "shutting down"]);
      expect(bot.output()).not.toContain("down-pw-7");
    } finally {
      await kill(bot);
    }
  });

  it("--log-format pretty: one readable line per attempt, no JSON", async () => {
    const bot = run(["--log-level", "warn", "--log-format", "pretty"]);
    try {
      await bot.waitForOutput(/"attempt":3,/);
      bot.child.kill("SIGINT");
      expect((await bot.exited).code).toBe(0);
      const out = bot.output().trimEnd().split("\n");
      expect(out.length).toBeGreaterThanOrEqual(3);
      for (const [i, line] of out.entries()) {
        expect(line).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] WARN: connection failed; retrying \{.*"err":"connect ECONNREFUSED/);
        expect(line).toContain(`"attempt":${i + 1},"delayMs":`);
      }
    } finally {
      await kill(bot);
    }
  });

  it("the level: --log-level over LOG_LEVEL over the config's log.level (error here)", async () => {
    const levelsLogged = async (args: string[], env: Record<string, string>) => {
      const bot = run(["--log-format", "json", ...args], env);
      try {
        // The third retry is logged at warn; at error and above it is not, so wait for the retries by time.
        await new Promise((r) => setTimeout(r, 1_500));
        bot.child.kill("SIGTERM");
        expect((await bot.exited).code).toBe(0);
        return new Set(jsonLines(bot.output()).map((l) => l.level as number));
      } finally {
        await kill(bot);
      }
    };
    // The config alone (error): nothing of this run is logged.
    expect([...(await levelsLogged([], {}))]).toEqual([]);
    // LOG_LEVEL=warn: the retries (40); not the shutdown (30).
    expect([...(await levelsLogged([], { LOG_LEVEL: "warn" }))]).toEqual([40]);
    // --log-level debug beats LOG_LEVEL=warn: debug (20) and info (30) lines as well.
    expect([...(await levelsLogged(["--log-level", "debug"], { LOG_LEVEL: "warn" }))].sort()).toEqual([20, 30, 40]);
  });

  it("a bad --log-format, --log-level or LOG_LEVEL is a usage error (exit 2) that names it", async () => {
    for (const [args, env, message] of [
      [["--log-format", "xml"], {}, '--log-format: "xml" is not a log format (pretty, json)'],
      [["--log-level", "loud"], {}, '--log-level: "loud" is not a log level (trace, debug, info, warn, error, fatal, silent)'],
      [[], { LOG_LEVEL: "verbose" }, 'LOG_LEVEL: "verbose" is not a log level'],
    ] as const) {
      const bot = run([...args], env);
      try {
        expect((await bot.exited).code).toBe(2);
        expect(bot.output()).toContain(`run: ${message}`);
      } finally {
        await kill(bot);
      }
    }
  });
});
