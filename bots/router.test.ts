import { xml } from "./xmpp.ts";
import { describe, expect, it } from "vitest";
import { memoryLogger } from "../test/helpers/logger.ts";
import { StanzaRouter } from "./router.ts";

describe("StanzaRouter", () => {
  it("gives each presence or message to every handler of its kind; a throwing handler is logged and isolated", async () => {
    const { logger, logs } = memoryLogger();
    const router = new StanzaRouter(logger);
    const seen: string[] = [];
    router.on("message", "a", () => void seen.push("a"));
    router.on("message", "thrower", () => {
      throw new Error("handler broke");
    });
    router.on("message", "rejecter", async () => {
      throw new Error("async handler broke");
    });
    router.on("message", "b", async () => void seen.push("b"));
    router.on("presence", "p", () => void seen.push("presence"));
    await router.routeStanza(xml("message", { from: "x@y" }, xml("body", {}, "hi")));
    expect(seen).toEqual(["a", "b"]);
    await router.routeStanza(xml("presence", { from: "x@y" }));
    expect(seen).toEqual(["a", "b", "presence"]);
    await router.routeStanza(xml("iq", { type: "result" }));
    expect(logs.lines.filter((l) => l.level === 50).map((l) => [l.plugin, l.msg])).toEqual([
      ["thrower", 'plugin "thrower" failed handling a message'],
      ["rejecter", 'plugin "rejecter" failed handling a message'],
    ]);
  });

  it("lets a handler remove itself while a stanza is being routed", async () => {
    const { logger } = memoryLogger();
    const router = new StanzaRouter(logger);
    const seen: string[] = [];
    const off = router.on("message", "once", () => {
      seen.push("once");
      off();
    });
    router.on("message", "always", () => void seen.push("always"));
    await router.routeStanza(xml("message"));
    await router.routeStanza(xml("message"));
    expect(seen).toEqual(["once", "always", "always"]);
  });

  it("routes iq get/set by type, namespace and payload name", async () => {
    const { logger } = memoryLogger();
    const router = new StanzaRouter(logger);
    const off = router.onIq("get", "urn:x", "query", "p", (_stanza, payload) => xml(payload.name, { xmlns: "urn:x" }, xml("ok")));
    const payload = xml("query", { xmlns: "urn:x" });
    const reply = await router.routeIq(xml("iq", { type: "get" }, payload), payload);
    expect((reply as ReturnType<typeof xml>).getChild("ok")).toBeDefined();
    expect(await router.routeIq(xml("iq", { type: "set" }, payload), payload)).toBeUndefined();
    const other = xml("other", { xmlns: "urn:x" });
    expect(await router.routeIq(xml("iq", { type: "get" }, other), other)).toBeUndefined();
    off();
    expect(await router.routeIq(xml("iq", { type: "get" }, payload), payload)).toBeUndefined();
  });

  it("an old remover does not remove a newer handler for the same payload", async () => {
    const { logger } = memoryLogger();
    const router = new StanzaRouter(logger);
    const offOld = router.onIq("get", "urn:x", "q", "old", () => true);
    offOld();
    router.onIq("get", "urn:x", "q", "new", () => true);
    offOld();
    const payload = xml("q", { xmlns: "urn:x" });
    expect(await router.routeIq(xml("iq", { type: "get" }, payload), payload)).toBe(true);
  });
});
