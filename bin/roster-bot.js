#!/usr/bin/env node
// The roster-bot command: runs the compiled package (dist/, made by `npm run build`).
import { existsSync } from "node:fs";

const cli = new URL("../dist/bots/cli.js", import.meta.url);
if (!existsSync(cli)) {
  process.stderr.write("roster-bot: dist/ is missing; run `npm run build` (npm ci and npm install do it for you)\n");
  process.exit(1);
}
const { main } = await import(cli.href);
const code = await main(process.argv.slice(2));
// Let pino flush its buffered logs before leaving.
setImmediate(() => process.exit(code));
