/**
 * A throwaway local XMPP server for trying roster-bot by hand (`npm run local-server`): a private
 * Prosody on 127.0.0.1:5222 (or $PORT) with VirtualHosts localhost, example.org and partner.test,
 * the bot's account bot@localhost (password: $ROSTER_BOT_PASSWORD) and a few contacts (password
 * "pw"). Stops and deletes everything on Ctrl-C.
 */
import { ProsodyServer } from "./prosody.ts";

const password = process.env.ROSTER_BOT_PASSWORD;
if (!password) {
  console.error("Set ROSTER_BOT_PASSWORD (the same value the bot will use), e.g.\n  ROSTER_BOT_PASSWORD=secret npm run local-server");
  process.exit(2);
}
const server = await ProsodyServer.start({ port: Number(process.env.PORT ?? 5222), hosts: ["localhost", "example.org", "partner.test"] });
server.createAccount("bot", "localhost", password);
const contacts = ["alice@localhost", "bob@example.org", "carol@partner.test", "spam1@partner.test"];
for (const jid of contacts) {
  const [user, host] = jid.split("@") as [string, string];
  server.createAccount(user, host, "pw");
}
console.log(`Prosody listening on ${server.service}
  bot account: bot@localhost (password from ROSTER_BOT_PASSWORD)
  contacts (password "pw"): ${contacts.join(", ")}
Now, in another terminal: ROSTER_BOT_PASSWORD=... npm start
Ctrl-C stops the server and deletes its data.`);
const stop = async () => {
  await server.stop();
  process.exit(0);
};
process.on("SIGINT", () => void stop());
process.on("SIGTERM", () => void stop());
