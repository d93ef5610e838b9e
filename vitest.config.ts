import { configDefaults, defineConfig } from "vitest/config";

export default defineConfig({
  // Inside this repository "roster-bot" is the source (consumers get dist/ through package.json's exports).
  resolve: { alias: { "roster-bot": new URL("./index.ts", import.meta.url).pathname } },
  test: {
    include: ["bots/**/*.test.ts", "plugins/**/*.test.ts", "examples/**/*.test.ts", "test/**/*.test.ts"],
    // The fault suite (test/faults) is long; it runs on its own: `npm run test:faults`.
    exclude: [...configDefaults.exclude, "test/faults/**"],
    globalSetup: ["test/global-setup.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
  },
});
