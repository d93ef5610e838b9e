/**
 * JSON Schema of the whole bot.config.yaml for editors (yaml-language-server): the host schema,
 * with each built-in plugin's schema under `plugins.<name>`. Other keys (paths, npm packages) stay
 * open, since their schemas are only known at load time.
 */
import { readdirSync } from "node:fs";
import { z } from "zod";
import { BUILTIN_PLUGINS_DIR, importPlugin } from "../plugin-loader.ts";
import { botSchema, hostSchema } from "./schema.ts";

export async function builtinPluginSchemas(): Promise<Record<string, z.ZodType>> {
  const out: Record<string, z.ZodType> = {};
  for (const entry of readdirSync(BUILTIN_PLUGINS_DIR, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    try {
      const def = await importPlugin(entry.name, BUILTIN_PLUGINS_DIR);
      out[entry.name] = def.config ?? z.object({}).strict();
    } catch {
      // A folder without a plugin is not part of the schema.
    }
  }
  return out;
}

export async function configJsonSchema(): Promise<Record<string, unknown>> {
  const plugins = await builtinPluginSchemas();
  const pluginsSchema = z
    .object(Object.fromEntries(Object.entries(plugins).map(([k, s]) => [k, s.optional()])))
    .catchall(z.unknown())
    .describe("Plugins to load, by name (from plugins/), relative path or npm package, each with its own config");
  const schema = hostSchema.extend({ bots: z.array(botSchema.extend({ plugins: pluginsSchema.optional() })).min(1) });
  return {
    ...z.toJSONSchema(schema, { io: "input", unrepresentable: "any" }),
    title: "roster-bot configuration (bot.config.yaml)",
  };
}
