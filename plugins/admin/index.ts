/**
 * The admin plugin: chat commands for the bot's admins, built only on the roster plugin's public
 * contract (plugins/roster/api.ts). Config: `admin: { admins: [alice@example.org], notifyOnAsk: true }`.
 */
import { bareJid, definePlugin, type RosterService } from "../../index.ts";
import { formatCommand, parseCommand } from "./commands.ts";
import { adminConfigSchema, type AdminConfig } from "./config.ts";
import { chatMessage, readCommandMessage } from "./message.ts";
import { notifyAsk, REFUSED, UNKNOWN_HINT } from "./replies.ts";
import { runCommand } from "./run-command.ts";
import { DecisionCounter } from "./stats.ts";
import { ReplyThrottle } from "./throttle.ts";

/** A non-admin gets at most one refusal per this interval (every attempt is still audited). */
export const REFUSAL_INTERVAL_MS = 60_000;

function adminSet(config: AdminConfig): ReadonlySet<string> {
  return new Set(config.admins.map((a) => bareJid(a)).filter((a): a is string => a !== undefined));
}

/** What an audit line shows of a body that is not a valid command. */
function excerpt(body: string): string {
  const text = body.trim().replace(/\s+/g, " ");
  return text.length > 100 ? text.slice(0, 100) + "…" : text;
}

export default definePlugin({
  name: "admin",
  dependencies: ["roster"],
  config: adminConfigSchema,
  apply(ctx, config) {
    const roster: RosterService = ctx.use("roster");
    const account = bareJid(ctx.bot.jid) ?? ctx.bot.jid;
    let admins = adminSet(config);
    let notifyOnAsk = config.notifyOnAsk;
    ctx.onReload((next) => {
      admins = adminSet(next);
      notifyOnAsk = next.notifyOnAsk;
    });

    // One audit trail for the bot: admin commands go into the roster plugin's audit.log.
    const audit = { write: (line: { from: string; command: string; allowed: boolean; result: string }) => roster.audit({ kind: "admin", ...line }) };
    const counter = new DecisionCounter();
    const refusals = new ReplyThrottle(REFUSAL_INTERVAL_MS);

    const send = async (to: string, text: string, thread?: string) => {
      try {
        await ctx.send(chatMessage(to, text, thread));
      } catch (err) {
        ctx.logger.warn({ to, err: (err as Error).message }, "admin message not sent");
      }
    };

    ctx.tap(roster.hooks.subscriptionDecided, async (d) => {
      counter.add(d);
      if (d.action !== "ask" || !notifyOnAsk) return;
      const text = notifyAsk(d);
      await Promise.all([...admins].map((admin) => send(admin, text)));
    });

    ctx.on("message", async (stanza) => {
      const msg = readCommandMessage(stanza, account);
      if (!msg) return;
      const parsed = parseCommand(msg.body);
      const command = parsed.ok ? formatCommand(parsed.command) : excerpt(msg.body);

      if (!admins.has(msg.sender)) {
        ctx.logger.warn({ security: true, from: msg.from, command }, "admin command refused: sender is not an admin");
        audit.write({ from: msg.sender, command, allowed: false, result: "refused" });
        if (refusals.allow(msg.sender)) await send(msg.from, REFUSED, msg.thread);
        return;
      }
      if (!parsed.ok) {
        audit.write({ from: msg.sender, command, allowed: true, result: parsed.error });
        await send(msg.from, parsed.error === "unknown" ? UNKNOWN_HINT : parsed.message, msg.thread);
        return;
      }
      const outcome = await runCommand(parsed.command, { roster, counter, admin: msg.sender, admins });
      audit.write({ from: msg.sender, command, allowed: true, result: outcome.result });
      ctx.logger.info({ from: msg.sender, command, result: outcome.result }, "admin command");
      await send(msg.from, outcome.reply, msg.thread);
    });
  },
});
