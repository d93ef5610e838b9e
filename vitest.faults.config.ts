// The long fault suite (`npm run test:faults`): server restarts mid-burst, kill -9, floods.
// Kept out of `npm test` for speed; CI runs both.
import { defineConfig } from "vitest/config";

export default defineConfig({
  resolve: { alias: { "roster-bot": new URL("./index.ts", import.meta.url).pathname } },
  test: {
    include: ["test/faults/**/*.test.ts"],
    globalSetup: ["test/global-setup.ts"],
    testTimeout: 180_000,
    hookTimeout: 120_000,
    pool: "forks",
    fileParallelism: false,
    // These tests kill the server (restart, SIGKILL) under hundreds of test-side xmpp.js clients;
    // xmpp.js surfaces the resulting socket resets in the *test* process as unhandled errors. The
    // bot runs as its own process and its behaviour is what the tests assert; only connection
    // resets of the test's own clients are ignored here, anything else still fails the run.
    onUnhandledError(error) {
      const code = (error as { code?: string } | undefined)?.code;
      if (code === "ECONNRESET" || code === "EPIPE") return false;
    },
  },
});
