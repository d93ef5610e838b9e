// `npm run test:package`: packs roster-bot and builds a plugin package against the tarball
// (test/package). Slow (npm installs), and it rebuilds dist/ (npm pack's prepack and prepare), so
// it runs on its own rather than beside the tests that start the compiled CLI.
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/package/**/*.test.ts"],
    globalSetup: ["test/global-setup.ts"],
    testTimeout: 240_000,
    hookTimeout: 240_000,
    pool: "forks",
    fileParallelism: false,
  },
});
