/**
 * Finds the plugins a bot names, validates each one's config with its own schema, and puts them in
 * dependency order. Problems (unknown plugin, bad config, missing dependency, cycle) are config
 * issues with positions, reported before any connection is made.
 */
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { zodIssues, type BotConfig } from "./config/load.ts";
import type { ConfigIssue, ConfigSource } from "./config/source.ts";
import { importPluginModule } from "./plugin-import.ts";
import { isPluginDefinition, type PluginDefinition } from "./plugin.ts";
import { z } from "zod";

export const BUILTIN_PLUGINS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../plugins");

export interface LoadedPlugin {
  /** The key as written in the config. */
  key: string;
  definition: PluginDefinition;
  /** Config after the plugin's schema (defaults applied). */
  config: unknown;
}

function isPathSpecifier(key: string): boolean {
  return key.startsWith("./") || key.startsWith("../") || path.isAbsolute(key);
}

/** Where a plugin key points: a built-in plugin, a file beside the config, or an npm package. */
export function resolvePluginLocation(key: string, configDir: string): string {
  if (isPathSpecifier(key)) return pathToFileURL(path.resolve(configDir, key)).href;
  if (/^[a-z0-9][a-z0-9_-]*$/.test(key)) {
    for (const file of ["index.ts", "index.js"]) {
      const builtin = path.join(BUILTIN_PLUGINS_DIR, key, file);
      if (existsSync(builtin)) return pathToFileURL(builtin).href;
    }
  }
  // An npm package, looked up from the config's folder first, then from roster-bot's own.
  try {
    return pathToFileURL(createRequire(path.join(configDir, "noop.js")).resolve(key)).href;
  } catch {
    return key;
  }
}

export async function importPlugin(key: string, configDir: string): Promise<PluginDefinition> {
  const location = resolvePluginLocation(key, configDir);
  let mod: { default?: unknown; plugin?: unknown };
  try {
    mod = await importPluginModule(location, configDir);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === "ERR_MODULE_NOT_FOUND" && isMissingModule(location, key, e)) {
      throw new Error(`plugin "${key}" not found (looked in plugins/, beside the config, and in node_modules)`, { cause: err });
    }
    throw new Error(`plugin "${key}" failed to load: ${e.message}`, { cause: err });
  }
  const def = mod.default ?? mod.plugin;
  if (!isPluginDefinition(def)) {
    throw new Error(`plugin "${key}" does not export a plugin (export default definePlugin({ name, apply }))`);
  }
  const foreign = def.config && foreignSchema(def.config);
  if (foreign) throw new Error(`plugin "${key}": its config schema ${foreign}; build it with \`import { z } from "roster-bot"\``);
  return def;
}

/**
 * Why a config schema cannot be used by this host's zod, if it cannot: a schema from zod 3 (or
 * another library) looks alike to TypeScript's eye in some setups and fails in odd ways at run time.
 */
function foreignSchema(schema: unknown): string | undefined {
  const version = (schema as { _zod?: { version?: { major?: number } } })._zod?.version;
  const ours = z.core.version.major;
  if (!version) return `is not a zod ${ours} schema (zod 3 and other libraries are not supported)`;
  if (version.major !== ours) return `was made with zod ${version.major}, and roster-bot validates with zod ${ours}`;
  return undefined;
}

/**
 * Whether ERR_MODULE_NOT_FOUND is about the plugin itself, not about a module the plugin imports
 * (whose error message names the plugin's file as the importer).
 */
function isMissingModule(location: string, key: string, err: Error): boolean {
  if (location.startsWith("file:")) return !existsSync(fileURLToPath(location));
  return String(err.message).includes(`'${key}'`);
}

/** Orders plugins so dependencies come first, keeping config order otherwise. */
export function orderPlugins<P extends { key: string; definition: Pick<PluginDefinition, "name" | "dependencies"> }>(
  plugins: P[],
): { ordered: P[]; problems: { key: string; message: string }[] } {
  const byName = new Map(plugins.map((p) => [p.definition.name, p]));
  const problems: { key: string; message: string }[] = [];
  for (const p of plugins) {
    for (const dep of p.definition.dependencies ?? []) {
      if (!byName.has(dep)) {
        problems.push({ key: p.key, message: `plugin "${p.definition.name}" depends on "${dep}", which this bot does not load` });
      }
    }
  }
  const ordered: P[] = [];
  const state = new Map<string, "visiting" | "done">();
  const visit = (p: P, trail: string[]): void => {
    const name = p.definition.name;
    if (state.get(name) === "done") return;
    if (state.get(name) === "visiting") {
      const cycle = [...trail.slice(trail.indexOf(name)), name].join(" -> ");
      problems.push({ key: p.key, message: `plugin dependency cycle: ${cycle}` });
      return;
    }
    state.set(name, "visiting");
    for (const dep of p.definition.dependencies ?? []) {
      const d = byName.get(dep);
      if (d) visit(d, [...trail, name]);
    }
    state.set(name, "done");
    ordered.push(p);
  };
  for (const p of plugins) visit(p, []);
  return { ordered, problems };
}

export async function loadBotPlugins(
  bot: Pick<BotConfig, "index" | "plugins">,
  source: ConfigSource,
  options: { forCommand?: boolean } = {},
): Promise<{ plugins: LoadedPlugin[]; issues: ConfigIssue[] }> {
  const issues: ConfigIssue[] = [];
  const at = (key: string) => ["bots", bot.index, "plugins", key];
  const loaded: LoadedPlugin[] = [];
  const names = new Map<string, string>();
  for (const { key, config } of bot.plugins) {
    let definition: PluginDefinition;
    try {
      definition = await importPlugin(key, source.dir);
    } catch (err) {
      issues.push(source.issue(at(key), (err as Error).message, true));
      continue;
    }
    const other = names.get(definition.name);
    if (other) {
      issues.push(source.issue(at(key), `plugin "${definition.name}" is already loaded as "${other}"`, true));
      continue;
    }
    names.set(definition.name, key);
    let value: unknown = config;
    if (definition.config) {
      const parsed = definition.config.safeParse(config);
      if (!parsed.success) {
        issues.push(...zodIssues(source, parsed.error.issues, at(key)));
        continue;
      }
      value = parsed.data;
      const checked = definition.check?.(value, { configDir: source.dir, forCommand: options.forCommand ?? false }) ?? [];
      for (const issue of checked) issues.push(source.issue([...at(key), ...issue.path], issue.message));
      if (checked.length) continue;
    }
    loaded.push({ key, definition, config: value });
  }
  const { ordered, problems } = orderPlugins(loaded);
  for (const p of problems) issues.push(source.issue(at(p.key), p.message, true));
  return { plugins: ordered, issues };
}
