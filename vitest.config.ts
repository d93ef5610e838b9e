import { configDefaults, defineConfig } from "vitest/config";

export default defineConfig({
  // Inside this repository "roster-bot" is the source (consumers get dist/ through package.json's exports).
  resolve: { alias: { "roster-bot": new URL("./index.ts", import.meta.url).pathname } },
  test: {
    include: ["bots/**/*.test.ts", "plugins/**/*.test.ts", "examples/**/*.test.ts", "test/**/*.test.ts"],
    // The fault suite (test/faults) is long; it runs on its own: `npm run test:faults`.
    // test/package packs and installs the package: it runs on its own (`npm run test:package`), as
    // does examples/plugin-package's own suite (node --test, inside that test).
    exclude: [...configDefaults.exclude, "test/faults/**", "test/package/**", "examples/plugin-package/**"],
    globalSetup: ["test/global-setup.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
  },
});
