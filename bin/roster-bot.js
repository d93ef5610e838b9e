#!/usr/bin/env node
// Runs the TypeScript sources directly through tsx's loader (no build step needed).
import { register } from "tsx/esm/api";

register();
const { main } = await import("../bots/cli.ts");
const code = await main(process.argv.slice(2));
// Let pino flush its buffered logs before leaving.
setImmediate(() => process.exit(code));
