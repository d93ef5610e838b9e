/**
 * The test server of one test file and the clients its tests connect: started before the file's
 * tests, every client stopped and the server removed after them.
 */
import { afterAll, beforeAll } from "vitest";
import { startServer, type TestServerOptions, type XmppTestServer } from "../../scripts/xmpp-server.ts";
import { TestClient, type TestClientOptions } from "../../scripts/xmpp-client.ts";

export interface ServerFixture {
  /** The running server (from the file's beforeAll on). */
  readonly server: XmppTestServer;
  /** A client of an existing account, stopped after the file's tests. */
  connect(options: Omit<TestClientOptions, "service">): Promise<TestClient>;
  /** A contact of the bot: its account created, logged in, roster requested, available. */
  contact(jid: string, password?: string): Promise<TestClient>;
}

export function useTestServer(options: TestServerOptions = {}): ServerFixture {
  let server: XmppTestServer | undefined;
  const clients: TestClient[] = [];
  beforeAll(async () => {
    server = await startServer(options);
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.stop()));
    await server?.stop();
  });
  const fixture: ServerFixture = {
    get server() {
      if (!server) throw new Error("the test server is not started yet (use it inside a test or hook)");
      return server;
    },
    async connect(o) {
      const c = await TestClient.connect({ service: fixture.server.service, ...o });
      clients.push(c);
      return c;
    },
    contact(jid, password = "pw") {
      const [user, host] = jid.split("@") as [string, string];
      fixture.server.createAccount(user, host, password);
      return fixture.connect({ jid, password, roster: true, presence: true });
    },
  };
  return fixture;
}
