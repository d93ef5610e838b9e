/**
 * Imports a plugin module: TypeScript through tsx when it is installed, and a one-line hint on what
 * to change when the import fails for a reason plugin authors often meet.
 */
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const TYPESCRIPT = /\.(c|m)?tsx?$/;

let tsxRegistered: Promise<void> | undefined;

/** Registers tsx's ESM loader once: from roster-bot's own dependencies, else from the config's folder. */
function registerTsx(configDir: string): Promise<void> {
  tsxRegistered ??= (async () => {
    type TsxApi = { register(): unknown };
    let api: TsxApi;
    try {
      api = (await import("tsx/esm/api"));
    } catch {
      try {
        const file = createRequire(path.join(configDir, "noop.js")).resolve("tsx/esm/api");
        api = (await import(pathToFileURL(file).href)) as TsxApi;
      } catch {
        throw new Error(
          `it is TypeScript, and tsx (which loads TypeScript files) is not installed: ` +
            `run \`npm install --save-dev tsx\` in ${configDir}, or compile the plugin to JavaScript`,
        );
      }
    }
    api.register();
  })();
  tsxRegistered.catch(() => (tsxRegistered = undefined));
  return tsxRegistered;
}

export async function importPluginModule(location: string, configDir: string): Promise<Record<string, unknown>> {
  const file = location.startsWith("file:") ? fileURLToPath(location) : undefined;
  try {
    try {
      return (await import(location)) as Record<string, unknown>;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ERR_UNKNOWN_FILE_EXTENSION" || !file || !TYPESCRIPT.test(file)) throw err;
      await registerTsx(configDir);
      // A new URL: the failed attempt may stay in Node's module map.
      return (await import(`${location}?tsx`)) as Record<string, unknown>;
    }
  } catch (err) {
    const hint = file ? hintFor(err as NodeJS.ErrnoException, file) : undefined;
    if (hint) throw new Error(hint, { cause: err });
    throw err;
  }
}

function hintFor(err: NodeJS.ErrnoException, file: string): string | undefined {
  const message = String(err.message);
  const missing = /Cannot find (?:package|module) '([^']+)' imported from/.exec(message);
  if (err.code === "ERR_MODULE_NOT_FOUND" && missing && !missing[1]!.startsWith(".") && !missing[1]!.startsWith("/")) {
    return `it imports "${missing[1]}", which is not installed where the plugin is: run \`npm install ${packageName(missing[1]!)}\` in ${path.dirname(file)} (or a folder above it)`;
  }
  const esmAsCommonJs =
    /require\(\) (?:of )?ES Module|ERR_REQUIRE_ESM|in a cycle|Cannot use import statement outside a module|exports is not defined in ES module scope/.test(message) ||
    err.code === "ERR_REQUIRE_ESM" ||
    err.code === "ERR_REQUIRE_CYCLE_MODULE";
  if (esmAsCommonJs && /\.(ts|js|tsx)$/.test(file) && !isModuleScope(file)) {
    const pkg = nearestPackageJson(file);
    const where = pkg ? `${pkg} has no "type": "module"` : `no package.json above it says "type": "module"`;
    return `Node reads ${path.basename(file)} as CommonJS (${where}): add "type": "module" to ${pkg ?? `a package.json in ${path.dirname(file)}`}, or name the file ${path.basename(file).replace(/\.(\w+)$/, ".m$1")}`;
  }
  return undefined;
}

function packageName(specifier: string): string {
  const parts = specifier.split("/");
  return specifier.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0]!;
}

function nearestPackageJson(file: string): string | undefined {
  for (let dir = path.dirname(file); ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, "package.json");
    if (existsSync(candidate)) return candidate;
    if (path.dirname(dir) === dir) return undefined;
  }
}

function isModuleScope(file: string): boolean {
  const pkg = nearestPackageJson(file);
  if (!pkg) return false;
  try {
    return (JSON.parse(readFileSync(pkg, "utf8")) as { type?: string }).type === "module";
  } catch {
    return false;
  }
}
