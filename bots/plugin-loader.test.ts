import path from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { lines, tempDir, type TempDir } from "../test/helpers/tmp.ts";
import { validateHost } from "./config/load.ts";
import { ConfigSource } from "./config/source.ts";
import { BUILTIN_PLUGINS_DIR, importPlugin, loadBotPlugins, orderPlugins, resolvePluginLocation } from "./plugin-loader.ts";

function p(name: string, dependencies?: string[], key = name) {
  return { key, definition: { name, dependencies } };
}
const names = (ps: { definition: { name: string } }[]) => ps.map((x) => x.definition.name);

describe("orderPlugins", () => {
  it("keeps config order when there are no dependencies", () => {
    const { ordered, problems } = orderPlugins([p("c"), p("a"), p("b")]);
    expect(problems).toEqual([]);
    expect(names(ordered)).toEqual(["c", "a", "b"]);
  });

  it("puts dependencies first and is otherwise stable", () => {
    const { ordered, problems } = orderPlugins([p("audit", ["store", "roster"]), p("x"), p("roster", ["store"]), p("store"), p("y")]);
    expect(problems).toEqual([]);
    expect(names(ordered)).toEqual(["store", "roster", "audit", "x", "y"]);
  });

  it("gives the same order for the same input (deterministic)", () => {
    const input = () => [p("d", ["b"]), p("c"), p("b", ["a"]), p("a")];
    expect(names(orderPlugins(input()).ordered)).toEqual(["a", "b", "d", "c"]);
    expect(names(orderPlugins(input()).ordered)).toEqual(names(orderPlugins(input()).ordered));
  });

  it("reports a missing dependency on the plugin that needs it", () => {
    const { ordered, problems } = orderPlugins([p("policy", ["roster", "store"], "./policy.ts"), p("store")]);
    expect(problems).toEqual([{ key: "./policy.ts", message: 'plugin "policy" depends on "roster", which this bot does not load' }]);
    expect(names(ordered)).toEqual(["store", "policy"]);
  });

  it("reports a cycle, naming every plugin in it", () => {
    const { problems } = orderPlugins([p("a", ["b"]), p("b", ["c"]), p("c", ["a"]), p("free")]);
    expect(problems).toHaveLength(1);
    expect(problems[0]!.message).toBe("plugin dependency cycle: a -> b -> c -> a");
  });

  it("reports a plugin that depends on itself", () => {
    const { problems } = orderPlugins([p("me", ["me"])]);
    expect(problems.map((x) => x.message)).toEqual(["plugin dependency cycle: me -> me"]);
  });

  it("names only the cycle, not the path that led into it", () => {
    const { problems } = orderPlugins([p("entry", ["x"]), p("x", ["y"]), p("y", ["x"])]);
    expect(problems.map((x) => x.message)).toEqual(["plugin dependency cycle: x -> y -> x"]);
  });
});

describe("loading plugins from the config", () => {
  let tmp: TempDir;

  const plugin = (name: string, extra = "") =>
    lines(
      'import { z } from "zod";',
      'import { definePlugin } from "../../bots/plugin.ts";',
      `export default definePlugin({ name: ${JSON.stringify(name)}, ${extra} apply() {} });`,
    );

  beforeAll(() => {
    tmp = tempDir("plugin-loader-");
    tmp.write("alpha.ts", plugin("alpha", 'dependencies: ["beta"],'));
    tmp.write("beta.ts", plugin("beta", "config: z.object({ level: z.number().default(3) }).strict(),"));
    tmp.write("beta-again.ts", plugin("beta"));
    tmp.write("named-export.ts", lines('import { definePlugin } from "../../bots/plugin.ts";', 'export const plugin = definePlugin({ name: "named", apply() {} });'));
    tmp.write("not-a-plugin.ts", "export default { hello: 'world' };\n");
    tmp.write("broken.ts", 'import "./does-not-exist-either.ts";\nexport default {};\n');
    tmp.write("cycle-a.ts", plugin("cycle-a", 'dependencies: ["cycle-b"],'));
    tmp.write("cycle-b.ts", plugin("cycle-b", 'dependencies: ["cycle-a"],'));
    // A check that judges behaviour: it fails unless a command loads the config.
    tmp.write("judging.ts", plugin("judging", 'config: z.object({}), check: (_c, env) => (env.forCommand ? [] : [{ path: [], message: "its cases fail" }]),'));
  });
  afterAll(() => tmp.remove());

  async function load(pluginLines: string[], options: { forCommand?: boolean } = {}) {
    const text = lines("bots:", "  - id: a", "    jid: a@x.org", "    plugins:", ...pluginLines.map((l) => `      ${l}`));
    const source = new ConfigSource(path.join(tmp.dir, "bot.config.yaml"), text);
    const { config, issues } = validateHost(source, { env: {} });
    expect(issues).toEqual([]);
    return loadBotPlugins(config!.bots[0]!, source, options);
  }

  it("tells a plugin's check whether a command loads the config (forCommand)", async () => {
    const run = await load(["./judging.ts: {}"]);
    expect(run.issues.map((i) => [i.line, i.column, i.message])).toEqual([[5, 21, "its cases fail"]]);
    expect(run.plugins).toEqual([]);
    const command = await load(["./judging.ts: {}"], { forCommand: true });
    expect(command.issues).toEqual([]);
    expect(command.plugins.map((p) => p.definition.name)).toEqual(["judging"]);
  });

  it("resolves keys: relative paths beside the config, built-in names, and packages", () => {
    expect(resolvePluginLocation("./x.ts", "/etc/bot")).toBe(pathToFileURL("/etc/bot/x.ts").href);
    expect(resolvePluginLocation("../x.ts", "/etc/bot")).toBe(pathToFileURL("/etc/x.ts").href);
    expect(resolvePluginLocation("/opt/p.ts", "/etc/bot")).toBe(pathToFileURL("/opt/p.ts").href);
    expect(resolvePluginLocation("zod", tmp.dir)).toMatch(/^file:.*node_modules\/zod\//);
    expect(resolvePluginLocation("no-such-package-xyz", tmp.dir)).toBe("no-such-package-xyz");
    expect(BUILTIN_PLUGINS_DIR).toBe(path.resolve(tmp.dir, "../../plugins"));
  });

  it("imports relative plugins, validates their config and orders them by dependency", async () => {
    const { plugins, issues } = await load(["./alpha.ts:", "./beta.ts: { level: 5 }", "./named-export.ts:"]);
    expect(issues).toEqual([]);
    expect(plugins.map((x) => [x.key, x.definition.name, x.config])).toEqual([
      ["./beta.ts", "beta", { level: 5 }],
      ["./alpha.ts", "alpha", {}],
      ["./named-export.ts", "named", {}],
    ]);
  });

  it("reports an unknown plugin name at its key", async () => {
    const { plugins, issues } = await load(["no-such-plugin-xyz:", "./beta.ts:"]);
    expect(plugins.map((x) => x.definition.name)).toEqual(["beta"]);
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ line: 5, column: 7, path: ["bots", 0, "plugins", "no-such-plugin-xyz"] });
    expect(issues[0]!.message).toMatch(/^plugin "no-such-plugin-xyz" (not found|failed to load)/);
  });

  it("reports a missing plugin file at its key", async () => {
    const { issues } = await load(["./beta.ts:", "./missing.ts:"]);
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ line: 6, column: 7 });
    expect(issues[0]!.message).toMatch(/^plugin "\.\/missing\.ts" (not found|failed to load)/);
  });

  it("reports a module that is not a plugin, and one that fails to load", async () => {
    const { issues } = await load(["./not-a-plugin.ts:", "./broken.ts:"]);
    expect(issues.map((i) => [i.line, i.message])).toEqual([
      [5, 'plugin "./not-a-plugin.ts" does not export a plugin (export default definePlugin({ name, apply }))'],
      [6, expect.stringMatching(/^plugin "\.\/broken\.ts" failed to load: /)],
    ]);
  });

  it("reports a missing dependency", async () => {
    const { plugins, issues } = await load(["./alpha.ts:", "./named-export.ts:"]);
    expect(issues.map((i) => `${i.line}:${i.column} ${i.message}`)).toEqual(['5:7 plugin "alpha" depends on "beta", which this bot does not load']);
    expect(plugins.map((x) => x.definition.name)).toEqual(["alpha", "named"]);
  });

  it("reports two keys that load the same plugin name", async () => {
    const { issues } = await load(["./beta-again.ts:", "./beta.ts: { level: 1 }"]);
    expect(issues.map((i) => `${i.line}:${i.column} ${i.message}`)).toEqual(['6:7 plugin "beta" is already loaded as "./beta-again.ts"']);
  });

  it("reports problems of several plugins at once", async () => {
    const { issues } = await load(["./alpha.ts:", "./nowhere.ts:", "./not-a-plugin.ts:", "./cycle-a.ts:", "./cycle-b.ts:"]);
    expect(issues.map((i) => i.line).sort()).toEqual([5, 6, 7, 8]);
  });

  it("reports a plugin config error at the value", async () => {
    const { issues } = await load(["./beta.ts:", "  level: high"]);
    expect(issues.map((i) => `${i.line}:${i.column} ${i.message}`)).toEqual(["6:16 Invalid input: expected number, received string"]);
  });

  it("reports a dependency cycle at the plugin's key, naming the cycle", async () => {
    const { issues } = await load(["./cycle-a.ts:", "./cycle-b.ts:"]);
    expect(issues.map((i) => `${i.line}:${i.column} ${i.message}`)).toEqual(["5:7 plugin dependency cycle: cycle-a -> cycle-b -> cycle-a"]);
  });

  it("refuses a config schema from another zod, naming what to import instead", async () => {
    tmp.write("zod3.ts", 'export default { name: "z3", apply() {}, config: { _def: { typeName: "ZodObject" }, safeParse: () => ({ success: true, data: {} }) } };\n');
    tmp.write("zod9.ts", 'export default { name: "z9", apply() {}, config: { _zod: { version: { major: 9, minor: 0, patch: 0 } }, safeParse: () => ({ success: true, data: {} }) } };\n');
    await expect(importPlugin("./zod3.ts", tmp.dir)).rejects.toThrow(
      'plugin "./zod3.ts": its config schema is not a zod 4 schema (zod 3 and other libraries are not supported); build it with `import { z } from "roster-bot"`',
    );
    await expect(importPlugin("./zod9.ts", tmp.dir)).rejects.toThrow('plugin "./zod9.ts": its config schema was made with zod 9, and roster-bot validates with zod 4');
    const { issues } = await load(["./zod3.ts:"]);
    expect(issues.map((i) => `${i.line}:${i.column} ${i.message.slice(0, 40)}`)).toEqual(['5:7 plugin "./zod3.ts": its config schema is']);
  });

  it("importPlugin explains an unknown name", async () => {
    await expect(importPlugin("definitely-not-a-plugin", tmp.dir)).rejects.toThrow(/plugin "definitely-not-a-plugin" (not found|failed to load)/);
  });
});
