// Integration tests need the XMPP server XMPP_SERVER picks (installed once as root, or a failure
// naming the command to run; Prosody always, as the examples' and the fault suite's tests start it
// whichever server the run is for) and the compiled package: the CLI they start runs dist/, so it
// is rebuilt here (incrementally: about a second when nothing changed).
import { execFileSync } from "node:child_process";
import path from "node:path";
import { ensureEjabberd } from "../scripts/ejabberd.ts";
import { ensureProsody } from "../scripts/prosody.ts";
import { serverKind } from "../scripts/xmpp-server.ts";

export default function setup(): void {
  ensureProsody();
  if (serverKind() === "ejabberd") ensureEjabberd();
  const root = path.resolve(import.meta.dirname, "..");
  execFileSync(process.execPath, [path.join(root, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.build.json"], { cwd: root, stdio: "inherit" });
}
