import { describe, expect, it } from "vitest";
import { lines } from "../../test/helpers/tmp.ts";
import { parseListen } from "./listen.ts";
import { validateHost } from "./load.ts";
import { ConfigSource, formatIssues } from "./source.ts";

describe("parseListen", () => {
  it("keeps a bare port on loopback", () => {
    expect(parseListen(9464)).toEqual({ host: "127.0.0.1", port: 9464 });
    expect(parseListen("9464")).toEqual({ host: "127.0.0.1", port: 9464 });
    expect(parseListen(":9464")).toEqual({ host: "127.0.0.1", port: 9464 });
  });

  it("uses an address the operator wrote", () => {
    expect(parseListen("0.0.0.0:9464")).toEqual({ host: "0.0.0.0", port: 9464 });
    expect(parseListen("[::]:9464")).toEqual({ host: "::", port: 9464 });
    expect(parseListen("[::1]:80")).toEqual({ host: "::1", port: 80 });
    expect(parseListen("localhost:9464")).toEqual({ host: "localhost", port: 9464 });
  });

  it("says what is wrong with a bad value", () => {
    expect(parseListen("0")).toMatch(/out of range/);
    expect(parseListen("70000")).toMatch(/out of range/);
    expect(parseListen("127.0.0.1:")).toMatch(/expected a port/);
    expect(parseListen("metrics")).toMatch(/expected a port/);
    expect(parseListen("::1:9464")).toMatch(/IPv6 address in brackets/);
    expect(parseListen("[nope]:9464")).toMatch(/not an IPv6 address/);
    expect(parseListen("bad host:9464")).toMatch(/not an address or host name/);
  });
});

describe("the http section", () => {
  const config = (...http: string[]) =>
    validateHost(new ConfigSource("/cfg/bot.config.yaml", lines(...http, "bots:", "  - id: main", "    jid: bot@example.org")), { env: {} });

  it("is off unless written", () => {
    expect(config().config!.http).toBeUndefined();
  });

  it("parses listen", () => {
    expect(config("http:", "  listen: 9464").config!.http).toEqual({ listen: { host: "127.0.0.1", port: 9464 } });
    expect(config("http:", '  listen: "0.0.0.0:9100"').config!.http).toEqual({ listen: { host: "0.0.0.0", port: 9100 } });
  });

  it("reports a bad listen value and an unknown key at file:line:column", () => {
    const { config: ok, issues } = config("http:", '  listen: "127.0.0.1:99999"', "  path: /m");
    expect(ok).toBeUndefined();
    const text = formatIssues(issues);
    expect(text).toContain("/cfg/bot.config.yaml:2:11");
    expect(text).toContain("port 99999 is out of range");
    expect(text).toContain("/cfg/bot.config.yaml:3:3");
    expect(text).toContain('unknown key "path"');
  });

  it("needs listen", () => {
    const { issues } = config("http: {}");
    expect(issues.map((i) => `${i.line}:${i.column}`)).toEqual(["1:7"]);
  });
});
