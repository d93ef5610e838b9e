/**
 * A throwaway local XMPP server for trying roster-bot by hand (`npm run local-server`): a private
 * Prosody on 127.0.0.1:5222 (or $PORT, which bot.config.yaml reads too) with VirtualHosts
 * localhost, example.org and partner.test, the bot's account bot@localhost (password:
 * $ROSTER_BOT_PASSWORD) and a few contacts (password "pw"). Ctrl-C or SIGTERM stops it and deletes
 * its folder; a failure to start is one line on stderr and exit 1, with nothing left behind.
 */
import { PortInUseError, ProsodyServer } from "./prosody.ts";

const DEFAULT_PORT = 5222;

/** Signal handlers are set before anything is created, so that a signal at any moment still cleans up. */
const state: { server?: ProsodyServer; stopRequested: boolean } = { stopRequested: false };
const stop = async () => {
  state.stopRequested = true;
  if (!state.server) return; // still starting: cleaned up when the start returns
  await state.server.stop();
  process.exit(0);
};
process.on("SIGINT", () => void stop());
process.on("SIGTERM", () => void stop());

function fail(message: string, code: number): never {
  console.error(`local-server: ${message}`);
  process.exit(code);
}

const password = process.env.ROSTER_BOT_PASSWORD;
if (!password) {
  console.error("Set ROSTER_BOT_PASSWORD (the same value the bot will use), e.g.\n  ROSTER_BOT_PASSWORD=secret npm run local-server");
  process.exit(2);
}
// Unset or empty: the default, as ${PORT:-5222} in bot.config.yaml reads it.
const portText = process.env.PORT || String(DEFAULT_PORT);
const port = /^\d{1,5}$/.test(portText) ? Number(portText) : 0;
if (port < 1 || port > 65_535) fail(`PORT must be a port number from 1 to 65535, not "${portText}"`, 2);

let started: ProsodyServer;
try {
  started = await ProsodyServer.start({ port, hosts: ["localhost", "example.org", "partner.test"] });
} catch (err) {
  if (state.stopRequested) process.exit(0); // a signal stopped the start (Ctrl-C reaches Prosody too)
  if (err instanceof PortInUseError) {
    const other = port < 65_535 ? port + 1 : DEFAULT_PORT;
    fail(`port ${port} is already in use (another XMPP server?); choose another, e.g. PORT=${other} npm run local-server, and start the bot with the same PORT`, 1);
  }
  fail((err as Error).message, 1);
}
state.server = started;
if (state.stopRequested) await stop();

started.createAccount("bot", "localhost", password);
const contacts = ["alice@localhost", "bob@example.org", "carol@partner.test", "spam1@partner.test"];
for (const jid of contacts) {
  const [user, host] = jid.split("@") as [string, string];
  started.createAccount(user, host, "pw");
}
const portVar = port === DEFAULT_PORT ? "" : `PORT=${port} `;
console.log(`Prosody listening on ${started.service}
  bot account: bot@localhost (password from ROSTER_BOT_PASSWORD)
  contacts (password "pw"): ${contacts.join(", ")}
Now, in another terminal: ${portVar}ROSTER_BOT_PASSWORD=... npm start
Ctrl-C stops the server and deletes its data.`);
