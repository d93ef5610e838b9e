/**
 * The plugin contract: `{ name, dependencies?, config?, apply(ctx, config) }` (the Koishi shape).
 * Everything a plugin registers through its context is removed when the plugin stops.
 */
import type { z } from "zod";
import type { PluginContext } from "./context.ts";

/**
 * Services plugins provide to each other, by name. A plugin that provides one declares it here by
 * declaration merging, so `ctx.use("roster")` is typed:
 *
 *   declare module "../../bots/plugin.ts" { interface Services { roster: RosterService } }
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface Services {}

export interface PluginConfigIssue {
  path: (string | number)[];
  message: string;
}

export interface PluginDefinition<S extends z.ZodType = z.ZodType> {
  /** Unique within a bot; other plugins name it in `dependencies`. */
  name: string;
  /** Plugins that must be loaded (and applied) first. */
  dependencies?: readonly string[];
  /** Schema of this plugin's section in bot.config.yaml; its errors are reported with positions. */
  config?: S;
  /**
   * Checks the schema cannot express (files that must exist, patterns that must compile). Paths are
   * relative to the plugin's config section; each issue is reported with file, line and column.
   */
  check?(config: z.output<S>, env: { configDir: string }): PluginConfigIssue[];
  /** Sets the plugin up. May be async; a throw disables this plugin (and those that depend on it) only. */
  apply(ctx: PluginContext, config: z.output<S>): void | Promise<void>;
}

export function definePlugin<S extends z.ZodType = z.ZodType<Record<string, never>>>(
  definition: PluginDefinition<S>,
): PluginDefinition<S> {
  return definition;
}

export function isPluginDefinition(value: unknown): value is PluginDefinition {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as PluginDefinition).name === "string" &&
    typeof (value as PluginDefinition).apply === "function"
  );
}
