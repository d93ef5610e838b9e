/**
 * roster-bot as a package others build on, tested the way a plugin author meets it: the `npm pack`
 * tarball installed outside this repository; examples/plugin-package built by its own strict `tsc`
 * (module NodeNext, no skipLibCheck, no allowImportingTsExtensions), tested, packed and named in a
 * config by package name; then the installed `roster-bot` binary against a private Prosody.
 * Slow (npm installs from the registry): run it with `npm run test:package` (CI does).
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ProsodyServer } from "../../scripts/prosody.ts";
import { TestClient, xml } from "../../scripts/xmpp-client.ts";
import { lines, REPO_ROOT } from "../helpers/tmp.ts";
import { until } from "../helpers/wait.ts";

const NPM = process.platform === "win32" ? "npm.cmd" : "npm";
const QUIET = ["--no-audit", "--no-fund", "--loglevel=error"];

let work: string;
let tarball: string;
let tarballFiles: string[];

function npm(args: string[], cwd: string): string {
  return execFileSync(NPM, args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, npm_config_update_notifier: "false" } });
}

function node(args: string[], cwd: string, env: Record<string, string> = {}): { code: number; out: string; err: string } {
  try {
    const out = execFileSync(process.execPath, args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env } });
    return { code: 0, out, err: "" };
  } catch (e) {
    const err = e as { status: number; stdout: string; stderr: string };
    return { code: err.status, out: err.stdout, err: err.stderr };
  }
}

beforeAll(() => {
  // Outside the repository, so that nothing resolves through its node_modules or by self-reference.
  work = mkdtempSync(path.join(os.tmpdir(), "roster-bot-package-"));
  const packed = JSON.parse(npm(["pack", "--json", "--pack-destination", work, ...QUIET], REPO_ROOT)) as { filename: string; files: { path: string }[] }[];
  tarball = path.join(work, packed[0]!.filename);
  tarballFiles = packed[0]!.files.map((f) => f.path).sort();
}, 180_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe("the npm package", () => {
  it("ships the compiled code, its declarations, the binary, README and LICENSE, and nothing of development", () => {
    expect(tarballFiles).toEqual(
      expect.arrayContaining([
        "LICENSE",
        "README.md",
        "package.json",
        "bin/roster-bot.js",
        "bot.config.schema.json",
        "dist/index.js",
        "dist/index.d.ts",
        "dist/bots/cli.js",
        "dist/bots/plugin.d.ts",
        "dist/plugins/roster/index.js",
        "dist/plugins/roster/api.d.ts",
        "dist/plugins/admin/index.js",
      ]),
    );
    const unwanted = tarballFiles.filter(
      (f) =>
        /\.test\.|(^|\/)(test|bench|scripts|examples|\.ci|types|node_modules)\//.test(f) ||
        /^(tsconfig.*|vitest.*|bot\.config\.yaml|package-lock\.json)$/.test(f) ||
        (f.endsWith(".ts") && !f.endsWith(".d.ts")) ||
        f.endsWith(".tsbuildinfo"),
    );
    expect(unwanted).toEqual([]);
    expect(tarballFiles.every((f) => /^(LICENSE|README\.md|package\.json|bot\.config\.schema\.json|bin\/roster-bot\.js|dist\/.+\.(js|d\.ts))$/.test(f))).toBe(true);
  });

  it("imports no TypeScript file from its compiled code", () => {
    const files = tarballFiles.filter((f) => f.endsWith(".js")).map((f) => path.join(REPO_ROOT, f));
    const tsImports = files.flatMap((f) => [...readFileSync(f, "utf8").matchAll(/(?:from\s*|import\s*\(\s*)["'](\.[^"']*\.ts)["']/g)].map((m) => `${path.relative(REPO_ROOT, f)}: ${m[1]}`));
    expect(files.length).toBeGreaterThan(40);
    expect(tsImports).toEqual([]);
  });

  it("declares its entry point, types, engines and the files it ships", () => {
    const pkg = JSON.parse(readFileSync(path.join(REPO_ROOT, "package.json"), "utf8")) as Record<string, unknown>;
    expect(pkg.exports).toEqual({ ".": { types: "./dist/index.d.ts", import: "./dist/index.js" }, "./package.json": "./package.json" });
    expect(pkg.types).toBe("./dist/index.d.ts");
    expect(pkg.engines).toEqual({ node: "^20.19.0 || >=22.12.0" });
    expect((pkg.dependencies as Record<string, string>).tsx).toBeUndefined();
  });
});

describe("a plugin in its own package, built and run against the tarball", () => {
  let server: ProsodyServer;
  let plugin: string;
  let app: string;
  let bot: ChildProcess | undefined;

  beforeAll(async () => {
    server = await ProsodyServer.start();
    server.createAccount("pkg-bot", "a.test", "pkg-bot-pw");
    server.createAccount("carol", "b.test", "pw");

    plugin = path.join(work, "roster-bot-journal");
    cpSync(path.join(REPO_ROOT, "examples/plugin-package"), plugin, { recursive: true, filter: (src) => !/(^|\/)(node_modules|dist)$/.test(src) });
    npm(["install", "--no-save", tarball, ...QUIET], plugin);

    app = path.join(work, "app");
    mkdirSync(app);
    writeFileSync(path.join(app, "package.json"), JSON.stringify({ name: "my-bot", private: true, type: "module" }, null, 2));
  }, 240_000);

  afterAll(async () => {
    if (bot && bot.exitCode === null) bot.kill("SIGKILL");
    await server?.stop();
  });

  it("type-checks and builds with the consumer's own strict tsc, and passes its own tests", () => {
    const tsconfig = JSON.parse(readFileSync(path.join(plugin, "tsconfig.json"), "utf8")) as { compilerOptions: Record<string, unknown> };
    expect(tsconfig.compilerOptions).toMatchObject({ strict: true, module: "NodeNext", moduleResolution: "NodeNext" });
    expect(tsconfig.compilerOptions.skipLibCheck).toBeUndefined();
    expect(tsconfig.compilerOptions.allowImportingTsExtensions).toBeUndefined();
    const tsc = node([path.join(plugin, "node_modules/typescript/bin/tsc"), "-p", plugin, "--listFilesOnly"], plugin);
    expect(tsc.code).toBe(0);
    // The library's declarations are checked too: roster-bot's, and zod's and pino's they use.
    expect(tsc.out).toContain(path.join(plugin, "node_modules/roster-bot/dist/index.d.ts"));
    expect(tsc.out).toContain(path.join(plugin, "node_modules/roster-bot/dist/plugins/roster/api.d.ts"));
    const build = node([path.join(plugin, "node_modules/typescript/bin/tsc"), "-p", plugin], plugin);
    expect(build.out + build.err).toBe("");
    expect(build.code).toBe(0);
    const tests = node(["--test", path.join(plugin, "dist")], plugin);
    expect(tests.err + tests.out).toMatch(/# pass 2\n# fail 0/);
    expect(tests.code).toBe(0);
  }, 120_000);

  it("is loaded by package name; a contact's request fires its tap; its command runs through roster-bot", async () => {
    const packed = JSON.parse(npm(["pack", "--json", "--pack-destination", work, ...QUIET], plugin)) as { filename: string; files: { path: string }[] }[];
    expect(packed[0]!.files.map((f) => f.path).sort()).toEqual(["README.md", "dist/index.d.ts", "dist/index.js", "dist/journal.d.ts", "dist/journal.js", "package.json"]);
    npm(["install", tarball, path.join(work, packed[0]!.filename), ...QUIET], app);
    const config = path.join(app, "bot.config.yaml");
    writeFileSync(
      config,
      lines(
        "log: { level: info }",
        "bots:",
        "  - id: main",
        "    jid: pkg-bot@a.test",
        "    password: ${PKG_BOT_PASSWORD}",
        `    service: ${server.service}`,
        "    tls: plaintext-loopback",
        "    plugins:",
        "      roster:",
        "        subscriptions:",
        "          default: reject",
        "          rules: [ { name: partners, match: { domain: b.test }, action: accept } ]",
        "      roster-bot-journal: { note: from the package }",
      ),
    );
    const bin = path.join(app, "node_modules/roster-bot/bin/roster-bot.js");
    const env = { PKG_BOT_PASSWORD: "pkg-bot-pw", ROSTER_BOT_CONFIG: "", XMPP_DEBUG: "" };

    const check = node([bin, "check"], app, env);
    expect(check).toEqual({ code: 0, out: `bot main (pkg-bot@a.test): plugins roster, journal\n${config}: ok\n`, err: "" });
    const help = node([bin, "--help"], app, env);
    expect(help.out).toMatch(/\n {2}journal\s+print the last subscription decisions from the journal \[journal\]\n/);
    expect(node([bin, "journal", "--help"], app, env).out).toMatch(/--limit N\s+how many \(default 20\)/);

    let output = "";
    bot = spawn(process.execPath, [bin, "run"], { cwd: app, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    bot.stdout!.on("data", (d: Buffer) => (output += d.toString()));
    bot.stderr!.on("data", (d: Buffer) => (output += d.toString()));
    await until(() => output.includes('"msg":"session ready"'), 20_000, `the bot's session (output: ${output})`);

    const carol = await TestClient.connect({ service: server.service, jid: "carol@b.test", password: "pw", roster: true, presence: true });
    try {
      await carol.send(xml("presence", { to: "pkg-bot@a.test", type: "subscribe" }));
      const answer = await carol
        .waitFor((s) => s.name === "presence" && s.attrs.type === "subscribed", 10_000, true)
        .catch((err: Error) => Promise.reject(new Error(`${err.message}; the bot's output:\n${output}`)));
      expect(answer.attrs.from).toBe("pkg-bot@a.test");
      await until(() => output.includes('"msg":"journal: decision recorded"'), 10_000, "the journal tap");
    } finally {
      await carol.stop();
    }
    const exited = new Promise<number | null>((resolve) => bot!.once("exit", (code) => resolve(code)));
    bot.kill("SIGTERM");
    expect(await exited).toBe(0);

    const journal = node([bin, "journal", "--json"], app, env);
    expect(journal.code).toBe(0);
    expect(journal.out.trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>)).toEqual([
      { time: expect.any(String), jid: "carol@b.test", action: "accept", decidedBy: "rules", rule: "partners", note: "from the package" },
    ]);
    expect(node([bin, "journal"], app, env).out).toMatch(/^\S+ {2}carol@b\.test {2}accept {2}by rule partners {2}from the package\n$/);
    const bad = node([bin, "journal", "--limit", "zero"], app, env);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('journal: --limit must be a whole number above 0, not "zero"');
  }, 240_000);
});
