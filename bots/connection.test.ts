import net from "node:net";
import os from "node:os";
import { describe, expect, it } from "vitest";
import type { BotConfig } from "./config/load.ts";
import { Secret } from "./config/secret.ts";
import { BotConnection, isLoopbackAddress, isPermanentFailure, loginDomain, TlsPolicyError } from "./connection.ts";
import { createLogger } from "./logger.ts";

const NS_STREAM = "http://etherx.jabber.org/streams";

describe("isLoopbackAddress", () => {
  it.each([
    ["127.0.0.1", true],
    ["127.1.2.3", true],
    ["::1", true],
    ["::ffff:127.0.0.1", true],
    ["10.0.0.1", false],
    ["192.168.1.1", false],
    ["::ffff:10.0.0.1", false],
    ["fe80::1", false],
    ["128.0.0.1", false],
    ["", false],
    [undefined, false],
  ])("%j is loopback: %j", (address, expected) => {
    expect(isLoopbackAddress(address)).toBe(expected);
  });
});

describe("isPermanentFailure", () => {
  it("is true for a refused TLS policy and for authentication failures", () => {
    expect(isPermanentFailure(new TlsPolicyError("no TLS"))).toBe(true);
    expect(isPermanentFailure(Object.assign(new Error("auth"), { name: "SASLError", condition: "not-authorized" }))).toBe(true);
    expect(isPermanentFailure({ condition: "account-disabled" })).toBe(true);
  });

  it("is false for network errors and nothing", () => {
    expect(isPermanentFailure(Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }))).toBe(false);
    expect(isPermanentFailure(new Error("timeout"))).toBe(false);
    expect(isPermanentFailure(undefined)).toBe(false);
    expect(isPermanentFailure(null)).toBe(false);
  });
});

function botOn(port: number): BotConfig {
  return {
    id: "bot",
    jid: "bot@late.test",
    resource: "roster-bot",
    service: `xmpp://127.0.0.1:${port}`,
    tls: "plaintext-loopback",
    dataDir: os.tmpdir(),
    reconnect: { initialDelay: 10, maxDelay: 10 },
    password: new Secret("pw"),
    plugins: [],
    index: 0,
  };
}

async function listen(onConnection: (socket: net.Socket) => void): Promise<{ port: number; close: () => Promise<unknown> }> {
  // Half-open: a server that is slow to answer the client's FIN, as a busy one is.
  const server = net.createServer({ allowHalfOpen: true }, onConnection);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { port: (server.address() as net.AddressInfo).port, close: () => new Promise((resolve) => server.close(resolve)) };
}

describe("BotConnection", () => {
  it("rejects, and leaves nothing to reject unhandled, when the server resets the stream it was opening", async () => {
    // Resets each connection as soon as the stream header arrives.
    const server = await listen((socket) => socket.once("data", () => socket.resetAndDestroy()));
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => void unhandled.push(reason);
    process.on("unhandledRejection", onUnhandled);
    const connection = new BotConnection(botOn(server.port), createLogger("silent"));
    try {
      await expect(connection.start()).rejects.toThrow(/ECONNRESET|disconnected/);
      await new Promise((r) => setTimeout(r, 50));
      expect(unhandled).toEqual([]);
    } finally {
      process.off("unhandledRejection", onUnhandled);
      await connection.stop();
      await server.close();
    }
  });

  it("drops data that arrives after xmpp.js gave up waiting for the server's </stream>", async () => {
    // Opens the stream, then answers the client's </stream> only after its close timeout (100 ms
    // here) and before it stops waiting for the socket to close (another 100 ms).
    const server = await listen((socket) =>
      socket.once("data", () => {
        socket.write(`<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='${NS_STREAM}' id='s1' from='late.test' version='1.0'>`);
        socket.once("data", () => setTimeout(() => socket.end("<presence/></stream:stream>"), 150));
      }),
    );
    const thrown: Error[] = [];
    const onUncaught = (err: Error) => void thrown.push(err);
    process.on("uncaughtException", onUncaught);
    const { client } = new BotConnection(botOn(server.port), createLogger("silent"));
    client.timeout = 100;
    try {
      await client.connect(client.options.service);
      await client.open({ domain: "late.test" });
      await client.stop();
      await new Promise((r) => setTimeout(r, 100));
      expect(thrown).toEqual([]);
    } finally {
      process.off("uncaughtException", onUncaught);
      await server.close();
    }
  });
});

describe("loginDomain", () => {
  it("logs in with A-labels when the config wrote them (the server knows its host so), else as compared", () => {
    expect(loginDomain("bücher.example", "bot@XN--BCHER-KVA.example")).toBe("xn--bcher-kva.example");
    expect(loginDomain("bücher.example", "bot@bücher.example")).toBe("bücher.example");
    expect(loginDomain("example.org", "bot@Example.ORG")).toBe("example.org");
    expect(loginDomain("example.org", undefined)).toBe("example.org");
  });
});
