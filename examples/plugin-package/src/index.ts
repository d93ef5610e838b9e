/**
 * roster-bot-journal: writes every subscription decision the bot makes to a journal in its data
 * folder, and adds `roster-bot journal` to read it.
 *
 *   plugins:
 *     roster: { ... }
 *     roster-bot-journal: { note: "partner onboarding" }
 */
import path from "node:path";
import { definePlugin, EXIT_OK, UsageError, z } from "roster-bot";
import { append, entryFor, formatEntries, readLast } from "./journal.js";

const JOURNAL = "journal.jsonl";

export default definePlugin({
  name: "journal",
  dependencies: ["roster"],
  config: z
    .object({
      /** Written on every line, e.g. why this bot's policy is what it is. */
      note: z.string().max(200).default(""),
    })
    .strict(),
  apply(ctx, config) {
    const roster = ctx.use("roster"); // typed RosterService: importing "roster-bot" is enough
    const file = path.join(ctx.dataDir, JOURNAL);
    ctx.tap(roster.hooks.subscriptionDecided, (decision) => {
      append(file, entryFor(decision, config.note));
      ctx.logger.info({ jid: decision.jid, action: decision.action }, "journal: decision recorded");
    });
  },
  commands: [
    {
      name: "journal",
      summary: "print the last subscription decisions from the journal",
      options: {
        limit: { type: "string", value: "N", description: "how many (default 20)" },
        json: { type: "boolean", description: "one JSON object per line" },
      },
      async run(cmd) {
        const limit = Number(cmd.options.limit ?? 20);
        if (!Number.isInteger(limit) || limit < 1) throw new UsageError(`--limit must be a whole number above 0, not "${String(cmd.options.limit)}"`);
        const target = await cmd.target();
        const entries = readLast(path.join(target.dataDir, JOURNAL), limit);
        cmd.out(cmd.options.json ? entries.map((e) => JSON.stringify(e) + "\n").join("") : formatEntries(entries));
        return EXIT_OK;
      },
    },
  ],
});
