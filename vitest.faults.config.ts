// The long fault suite (`npm run test:faults`): server restarts mid-burst, kill -9, floods.
// Kept out of `npm test` for speed; CI runs both.
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/faults/**/*.test.ts"],
    globalSetup: ["test/global-setup.ts"],
    testTimeout: 180_000,
    hookTimeout: 120_000,
    pool: "forks",
    fileParallelism: false,
  },
});
