/**
 * Who may know whom: the host (bots/) knows no plugin, and the admin plugin and the examples use
 * only the public API (index.ts, "roster-bot" to a plugin author), so that what they need is
 * something any plugin can have.
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "../test/helpers/tmp.ts";

function sources(dir: string): string[] {
  return readdirSync(path.join(REPO_ROOT, dir), { recursive: true, encoding: "utf8" })
    .filter((f) => /\.m?ts$/.test(f) && !/\.test\.ts$/.test(f) && !f.includes("node_modules"))
    .map((f) => path.join(dir, f));
}

/** Every module specifier a file imports or re-exports, statically or dynamically. */
function importsOf(file: string): string[] {
  const text = readFileSync(path.join(REPO_ROOT, file), "utf8");
  return [...text.matchAll(/(?:\bfrom\s+|\bimport\s*\(\s*|^\s*import\s+)["']([^"']+)["']/gm)].map((m) => m[1]!);
}

function resolved(file: string, specifier: string): string {
  return specifier.startsWith(".") ? path.relative(REPO_ROOT, path.resolve(REPO_ROOT, path.dirname(file), specifier)) : specifier;
}

describe("layers", () => {
  it("bots/ imports nothing from plugins/", () => {
    const offending = sources("bots").flatMap((f) => importsOf(f).filter((s) => resolved(f, s).startsWith("plugins/")).map((s) => `${f}: ${s}`));
    expect(sources("bots").length).toBeGreaterThan(20);
    expect(offending).toEqual([]);
  });

  it("the admin plugin and the examples import only the public API, node: modules and their own files", () => {
    const allowed = (file: string, specifier: string): boolean => {
      if (specifier.startsWith("node:") || specifier === "roster-bot") return true;
      const target = resolved(file, specifier);
      if (target === "index.ts") return true;
      const own = file.split(path.sep).slice(0, 2).join("/"); // plugins/admin, examples/<name>
      return specifier.startsWith(".") && target.startsWith(`${own}/`);
    };
    const files = [...sources("plugins/admin"), ...sources("examples")];
    const offending = files.flatMap((f) => importsOf(f).filter((s) => !allowed(f, s)).map((s) => `${f}: ${s}`));
    expect(files.length).toBeGreaterThan(8);
    expect(offending).toEqual([]);
  });
});
