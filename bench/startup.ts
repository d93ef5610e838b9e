/**
 * Benchmark: start-up time of the compiled CLI, and the size of the npm tarball.
 *
 * Short commands (`--version`, `check`, `explain`) are mostly start-up, which is why the CLI imports
 * only what a command needs (bots/cli.ts). dist/ is rebuilt first; each command then runs as a fresh
 * process, once as a warm-up and 10 times round-robin so that noise hits all alike; the median
 * counts. The machine is noisy: compare the ratios to `node -e 0` (Node's own start-up) between runs,
 * not the milliseconds. Target: `check` ≤ 4× `node -e 0`.
 *
 * `npm pack --dry-run --ignore-scripts` skips prepack (which empties dist/), so files left in dist/ by
 * deleted sources would be counted; they are warned about.
 *
 * Run: npx tsx bench/index.ts startup        (about 30 s)
 */
import { execFileSync, spawn } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { median, table } from "./stats.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const RUNS = 10;
const TARGET_CHECK_RATIO = 4;

/** The tarball at c8dc68d, which shipped TypeScript sources, tests and benchmarks (npm's kB = 1000 bytes). */
const BEFORE = { files: 158, packedKB: 246.3, unpackedKB: 868.1 };

const COMMANDS: { name: string; args: string[] }[] = [
  { name: "node -e 0", args: ["-e", "0"] },
  { name: "roster-bot --version", args: ["bin/roster-bot.js", "--version"] },
  { name: "roster-bot check", args: ["bin/roster-bot.js", "check"] },
  { name: "roster-bot explain alice@example.org", args: ["bin/roster-bot.js", "explain", "alice@example.org"] },
];

const ENV = { ...process.env, ROSTER_BOT_PASSWORD: "bench" };

function timeOnce(name: string, args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    let stderr = "";
    let ms = 0;
    const t0 = performance.now();
    const child = spawn(process.execPath, args, { cwd: ROOT, env: ENV, stdio: ["ignore", "ignore", "pipe"] });
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    child.on("exit", () => (ms = performance.now() - t0));
    child.on("error", reject);
    child.on("close", (code, signal) => {
      if (code === 0) resolve(ms);
      else reject(new Error(`${name}: exited with ${signal ?? `code ${code}`}\n${stderr.trimEnd()}`));
    });
  });
}

/** Files in dist/ without a source (`X.ts` for `dist/X.js`, `dist/X.d.ts`). */
function staleDistFiles(dir = path.join(ROOT, "dist")): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: "utf8" })
    .filter((f) => /\.(d\.ts|js)$/.test(f))
    .filter((f) => !existsSync(path.join(ROOT, f.replace(/(\.d\.ts|\.js)$/, ".ts"))))
    .map((f) => path.join("dist", f));
}

interface PackResult {
  files: unknown[];
  size: number;
  unpackedSize: number;
}

function pack(): PackResult {
  const out = execFileSync("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], { cwd: ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  let result: PackResult | undefined;
  try {
    result = (JSON.parse(out) as PackResult[])[0];
  } catch {
    // reported below
  }
  if (!result || !Array.isArray(result.files)) throw new Error(`npm pack --dry-run --json: unexpected output:\n${out}`);
  return result;
}

export async function run(): Promise<void> {
  const buildStart = performance.now();
  try {
    execFileSync(process.execPath, [path.join(ROOT, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.build.json"], {
      cwd: ROOT,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    throw new Error(`build (tsc -p tsconfig.build.json) failed:\n${`${e.stdout ?? ""}${e.stderr ?? ""}`.trimEnd()}`, { cause: err });
  }
  console.log(`startup: dist/ rebuilt in ${((performance.now() - buildStart) / 1000).toFixed(1)} s; ` +
    `${RUNS} runs of each command (plus one warm-up), round-robin, ${process.version}\n`);

  const samples = COMMANDS.map(() => [] as number[]);
  for (const c of COMMANDS) await timeOnce(c.name, c.args); // warm-up: disk cache, not counted
  for (let i = 0; i < RUNS; i++) {
    for (const [j, c] of COMMANDS.entries()) samples[j]!.push(await timeOnce(c.name, c.args));
  }

  const base = median(samples[0]!);
  const ratio = (ms: number) => `${(ms / base).toFixed(1)}×`;
  table(
    ["command", "median ms", "min ms", "× node -e 0"],
    COMMANDS.map((c, j) => [c.name, median(samples[j]!).toFixed(1), Math.min(...samples[j]!).toFixed(1), ratio(median(samples[j]!))]),
  );
  const checkRatio = median(samples[2]!) / base;
  console.log(`\ntarget: check ≤ ${TARGET_CHECK_RATIO}× node -e 0: ${checkRatio.toFixed(1)}× — ${checkRatio <= TARGET_CHECK_RATIO ? "met" : "NOT met"}`);
  console.log(`raw ms: ${COMMANDS.map((c, j) => `${c.name} [${samples[j]!.map((x) => x.toFixed(0)).join(", ")}]`).join("; ")}`);

  const p = pack();
  const kB = (bytes: number) => bytes / 1000;
  const change = (now: number, before: number) => `${now >= before ? "+" : ""}${(((now - before) / before) * 100).toFixed(0)}%`;
  console.log("\nnpm pack --dry-run --ignore-scripts:\n");
  table(
    ["tarball", "before", "now", "change"],
    [
      ["files", String(BEFORE.files), String(p.files.length), change(p.files.length, BEFORE.files)],
      ["packed kB", BEFORE.packedKB.toFixed(1), kB(p.size).toFixed(1), change(kB(p.size), BEFORE.packedKB)],
      ["unpacked kB", BEFORE.unpackedKB.toFixed(1), kB(p.unpackedSize).toFixed(1), change(kB(p.unpackedSize), BEFORE.unpackedKB)],
    ],
  );
  const stale = staleDistFiles();
  if (stale.length) {
    console.log(`\nwarning: ${stale.length} file(s) in dist/ have no source any more and are counted above ` +
      `(a real npm pack empties dist/ first): ${stale.slice(0, 5).join(", ")}${stale.length > 5 ? ", …" : ""}`);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
