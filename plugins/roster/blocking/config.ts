/** The `blocking:` config section: what the bot does with the blocklist on its own. */
import { z } from "zod";

export const blockingSchema = z
  .strictObject({
    auto: z
      .boolean()
      .default(true)
      .describe(
        "Lift the bot's blocks when their time is up and forget those a person removed, at session start and on a timer. " +
          "false (what `plan` uses): nothing is sent on its own; `plan` tells what would change",
      ),
  })
  .default({ auto: true })
  .describe("Blocking at the server (XEP-0191): the blocklist entries the bot adds for rules with `block`, and their expiry");

export type BlockingConfig = z.output<typeof blockingSchema>;
