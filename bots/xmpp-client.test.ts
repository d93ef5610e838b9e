import net from "node:net";
import { describe, expect, it } from "vitest";
import { createClient } from "./xmpp-client.ts";

const NS_STREAM = "http://etherx.jabber.org/streams";
const HEADER = `<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='${NS_STREAM}' id='s1' from='restart.test' version='1.0'>`;

describe("createClient", () => {
  it("a new connection waits for the previous disconnect(): a server shut down without </stream> does not cost the next socket", async () => {
    // The first connection gets a stream error (as from a server shutting down) and, once the
    // client has sent its </stream>, is dropped without the server's. Later connections stay open.
    const endedByClient: number[] = [];
    let connections = 0;
    const sockets: net.Socket[] = [];
    const server = net.createServer({ allowHalfOpen: true }, (socket) => {
      const n = ++connections;
      sockets.push(socket);
      socket.on("error", () => {});
      socket.on("end", () => void endedByClient.push(n));
      socket.once("data", () => {
        socket.write(HEADER);
        if (n === 1) {
          setTimeout(() => {
            socket.write(`<stream:error><system-shutdown xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>`);
            socket.once("data", () => socket.destroy());
          }, 50);
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as net.AddressInfo;
    const service = `xmpp://127.0.0.1:${port}`;
    const client = createClient({ service, domain: "restart.test" });
    client.reconnect.stop();
    client.timeout = 150;
    client.on("error", () => {});
    const disconnects: number[] = [];
    try {
      const reconnected = new Promise<void>((resolve, reject) => {
        client.once("disconnect", () => {
          // Reconnect at once, as a bot does after a short backoff.
          client.connect(service).then(() => client.open({ domain: "restart.test" })).then(() => resolve(), reject);
        });
      });
      client.on("disconnect", () => void disconnects.push(connections));
      await client.connect(service);
      await client.open({ domain: "restart.test" });
      await reconnected;
      // Past the old disconnect()'s wait for the server's </stream>, had it still been running.
      await new Promise((r) => setTimeout(r, 400));
      expect(connections).toBe(2);
      expect(endedByClient).not.toContain(2);
      expect(client.status).toBe("open");
      // Every disconnect was the first connection's, reported before the second one opened.
      expect(disconnects.every((n) => n === 1)).toBe(true);
    } finally {
      client.removeAllListeners("disconnect");
      await client.disconnect().catch(() => {});
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
