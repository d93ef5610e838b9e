/**
 * `npm run bench`: every benchmark in this folder, one after another, each with its ratio against a
 * baseline measured in the same run. `npm run bench -- rules` runs only the named ones.
 */
import { readdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const dir = path.dirname(fileURLToPath(import.meta.url));
const only = process.argv.slice(2);
const files = readdirSync(dir)
  .filter((f) => f.endsWith(".ts") && f !== "index.ts" && !f.endsWith(".d.ts"))
  .filter((f) => only.length === 0 || only.includes(f.replace(/\.ts$/, "")))
  .sort();

for (const file of files) {
  console.log(`\n=== bench/${file}`);
  const mod = (await import(pathToFileURL(path.join(dir, file)).href)) as { run?: () => unknown };
  if (typeof mod.run === "function") await mod.run();
}
