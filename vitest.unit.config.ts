// `npm run test:unit`: the tests that need no XMPP server (config, rules, hooks, planning, the CLI
// offline). CI runs them under every supported Node version; `npm test` runs them with the rest.
import { configDefaults, defineConfig } from "vitest/config";

export default defineConfig({
  resolve: { alias: { "roster-bot": new URL("./index.ts", import.meta.url).pathname } },
  test: {
    include: ["bots/**/*.test.ts", "plugins/**/*.test.ts", "examples/**/*.test.ts", "test/config-files.test.ts", "test/config-bounds.test.ts"],
    exclude: [...configDefaults.exclude, "examples/plugin-package/**", "examples/allowlist-plugin/integration.test.ts", "examples/welcome-plugin/index.test.ts"],
    testTimeout: 30_000,
    pool: "forks",
  },
});
