/** A contact of the bot on a test server: its account created, logged in, roster requested, available. */
import type { XmppTestServer } from "../../scripts/xmpp-server.ts";
import { TestClient } from "../../scripts/xmpp-client.ts";

export async function connectContact(server: XmppTestServer, jid: string, password = "pw"): Promise<TestClient> {
  const [user, host] = jid.split("@") as [string, string];
  server.createAccount(user, host, password);
  return TestClient.connect({ service: server.service, jid, password, roster: true, presence: true });
}
