// Integration tests need the prosody binary (installed once as root, or a failure naming the
// command to run) and the compiled package: the CLI they start runs dist/, so it is rebuilt here
// (incrementally: about a second when nothing changed).
import { execFileSync } from "node:child_process";
import path from "node:path";
import { ensureProsody } from "../scripts/prosody.ts";

export default function setup(): void {
  ensureProsody();
  const root = path.resolve(import.meta.dirname, "..");
  execFileSync(process.execPath, [path.join(root, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.build.json"], { cwd: root, stdio: "inherit" });
}
