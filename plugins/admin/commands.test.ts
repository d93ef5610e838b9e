import { describe, expect, it } from "vitest";
import { formatCommand, HELP_TEXT, MAX_COMMAND_LENGTH, parseCommand, parseJidArgument, USAGE } from "./commands.ts";

const ok = (text: string) => {
  const r = parseCommand(text);
  if (!r.ok) throw new Error(`expected a command from ${JSON.stringify(text)}, got ${r.message}`);
  return r.command;
};
const fail = (text: string) => {
  const r = parseCommand(text);
  if (r.ok) throw new Error(`expected ${JSON.stringify(text)} to fail`);
  return r;
};

describe("parseCommand", () => {
  it("parses every command without arguments", () => {
    for (const name of ["help", "pending", "plan", "sync", "stats"] as const) expect(ok(name)).toEqual({ name });
    expect(ok("roster")).toEqual({ name: "roster", group: undefined });
  });

  it("ignores case of the command word and surrounding or repeated spaces", () => {
    expect(ok("  Pending \n")).toEqual({ name: "pending" });
    expect(ok("APPROVE   alice@example.org")).toEqual({ name: "approve", jid: "alice@example.org", mutual: false });
  });

  it("normalizes JID arguments to bare JIDs", () => {
    expect(ok("approve Alice@Example.ORG/phone")).toEqual({ name: "approve", jid: "alice@example.org", mutual: false });
    expect(ok("deny xmpp:bob@example.org?subscribe")).toEqual({ name: "deny", jid: "bob@example.org" });
    expect(ok("explain carol@partner.test")).toEqual({ name: "explain", jid: "carol@partner.test" });
    expect(ok("explain gateway.example.org")).toEqual({ name: "explain", jid: "gateway.example.org" });
  });

  it("normalizes an internationalized domain to U-labels, so a held request is found in either spelling", () => {
    expect(ok("approve a@xn--bcher-kva.example")).toEqual({ name: "approve", jid: "a@bücher.example", mutual: false });
    expect(ok("deny A@XN--BCHER-KVA.example")).toEqual({ name: "deny", jid: "a@bücher.example" });
    expect(ok("grant a@bücher.example")).toEqual({ name: "grant", jid: "a@bücher.example" });
    // explain also keeps the spelling typed, to show it next to the normal form.
    expect(ok("explain xmpp:a@xn--bcher-kva.example/phone")).toEqual({ name: "explain", jid: "a@bücher.example", given: "a@xn--bcher-kva.example" });
    expect(fail("approve a@xn--zzzz.example")).toMatchObject({ error: "usage" });
  });

  it("approve takes an optional mutual flag", () => {
    expect(ok("approve a@b.test mutual")).toEqual({ name: "approve", jid: "a@b.test", mutual: true });
    expect(ok("approve a@b.test MUTUAL")).toEqual({ name: "approve", jid: "a@b.test", mutual: true });
    expect(fail("approve a@b.test please")).toMatchObject({ error: "usage", message: expect.stringContaining(USAGE.approve) });
  });

  it("keeps a group name as written, spaces included", () => {
    expect(ok("roster  Team Berlin ")).toEqual({ name: "roster", group: "Team Berlin" });
    expect(ok("Roster Ärzte")).toEqual({ name: "roster", group: "Ärzte" });
  });

  it("a missing or invalid JID is a usage error naming the problem", () => {
    expect(fail("approve")).toMatchObject({ error: "usage", message: "a JID is needed. Usage: approve JID [mutual]" });
    expect(fail("deny a@@b")).toMatchObject({ error: "usage", message: expect.stringContaining('"a@@b" is not a valid JID') });
    expect(fail("explain @b.test")).toMatchObject({ error: "usage" });
    expect(fail("deny a@b.test c@d.test")).toMatchObject({ error: "usage", message: expect.stringContaining("unexpected") });
  });

  it("commands without arguments refuse extra words", () => {
    expect(fail("stats now")).toMatchObject({ error: "usage", message: "stats takes no arguments. Usage: stats" });
  });

  it("anything else is unknown", () => {
    expect(fail("hello there")).toMatchObject({ error: "unknown", message: 'unknown command "hello"' });
    expect(fail("approve-all")).toMatchObject({ error: "unknown" });
    expect(fail("")).toMatchObject({ error: "unknown" });
    expect(fail("help " + "x".repeat(MAX_COMMAND_LENGTH))).toMatchObject({ error: "unknown" });
  });

  it("does not echo long input back", () => {
    const r = fail("x".repeat(500));
    expect(r.message.length).toBeLessThan(60);
    const u = fail("deny " + "@".repeat(300));
    expect(u.message.length).toBeLessThan(120);
  });
});

describe("block, unblock, blocked", () => {
  const DAY = 86_400_000;

  it("block takes a JID or a domain (a domain entry), forgiving about URIs, resources, case and a leading @", () => {
    expect(ok("block spam.example")).toEqual({ name: "block", jid: "spam.example" });
    expect(ok("Block @Spam.Example")).toEqual({ name: "block", jid: "spam.example" });
    expect(ok("BLOCK xmpp:Spammer@Spam.Example/bot?message")).toEqual({ name: "block", jid: "spammer@spam.example" });
    expect(ok("block xmpp:spam.example")).toEqual({ name: "block", jid: "spam.example" });
  });

  it("block takes an optional duration: 7d, for 7d, 7 d", () => {
    expect(ok("block spam.example 7d")).toEqual({ name: "block", jid: "spam.example", forMs: 7 * DAY });
    expect(ok("block a@b.test for 30m")).toEqual({ name: "block", jid: "a@b.test", forMs: 1_800_000 });
    expect(ok("block a@b.test FOR 2 h")).toEqual({ name: "block", jid: "a@b.test", forMs: 7_200_000 });
    expect(ok("block a@b.test 2s")).toEqual({ name: "block", jid: "a@b.test", forMs: 2_000 });
  });

  it("block keeps an A-label spelling for the server, next to the normal form", () => {
    expect(ok("block a@XN--BCHER-KVA.example 1d")).toEqual({ name: "block", jid: "a@bücher.example", given: "a@XN--BCHER-KVA.example", forMs: DAY });
    expect(ok("unblock xn--bcher-kva.example")).toEqual({ name: "unblock", jid: "bücher.example", given: "xn--bcher-kva.example" });
  });

  it("a bad target or duration is a usage error naming the problem", () => {
    expect(fail("block")).toMatchObject({ error: "usage", message: "a JID or domain is needed. Usage: block JID|DOMAIN [FOR]" });
    expect(fail("block a@@b")).toMatchObject({ message: expect.stringContaining('"a@@b" is not a valid JID or domain') });
    expect(fail("block @")).toMatchObject({ error: "usage" });
    expect(fail("block a@b.test soon")).toMatchObject({ message: '"soon" is not a duration like 30m, 12h or 7d. Usage: block JID|DOMAIN [FOR]' });
    expect(fail("block a@b.test for")).toMatchObject({ message: expect.stringContaining('a duration is needed after "for"') });
    expect(fail("block a@b.test 0s")).toMatchObject({ message: expect.stringContaining("at least 1s") });
    expect(fail("block a@b.test 3651d")).toMatchObject({ message: expect.stringContaining("at most 3650d") });
    expect(fail("unblock")).toMatchObject({ error: "usage", message: "a JID or domain is needed. Usage: unblock JID|DOMAIN" });
    expect(fail("unblock a@b.test 7d")).toMatchObject({ message: expect.stringContaining('unexpected "7d"') });
    expect(fail("blocked a@b.test")).toMatchObject({ message: "blocked takes no arguments. Usage: blocked" });
  });

  it("block cuts a resource; unblock keeps the full JID too, for an entry that names one", () => {
    expect(ok("block a@b.test/Phone")).toEqual({ name: "block", jid: "a@b.test" });
    expect(ok("unblock A@B.test/Phone")).toEqual({ name: "unblock", jid: "a@b.test", full: "a@b.test/Phone" });
    expect(ok("unblock a@b.test")).toEqual({ name: "unblock", jid: "a@b.test" });
    expect(ok("blocked")).toEqual({ name: "blocked" });
  });

  it("formats for the audit line", () => {
    expect(formatCommand(ok("block Spam.Example for 1.5h"))).toBe("block spam.example 90m");
    expect(formatCommand(ok("block a@b.test"))).toBe("block a@b.test");
    expect(formatCommand(ok("unblock a@b.test/Phone"))).toBe("unblock a@b.test/Phone");
    expect(formatCommand(ok("blocked"))).toBe("blocked");
  });
});

describe("policy commands", () => {
  it("test takes no arguments", () => {
    expect(ok("Test")).toEqual({ name: "test" });
    expect(fail("test policy.test.yaml")).toMatchObject({ error: "usage", message: "test takes no arguments. Usage: test" });
  });

  it("replay takes a number of days: 7 by default, a whole number from 1 to 3650", () => {
    expect(ok("replay")).toEqual({ name: "replay", days: 7 });
    expect(ok("REPLAY  30 ")).toEqual({ name: "replay", days: 30 });
    expect(ok("replay 1")).toEqual({ name: "replay", days: 1 });
    expect(ok("replay 3650")).toEqual({ name: "replay", days: 3650 });
    expect(ok("replay 007")).toEqual({ name: "replay", days: 7 });
    for (const bad of ["0", "3651", "-1", "1.5", "7d", "week", "99999", "1e3"]) {
      expect(fail(`replay ${bad}`)).toMatchObject({ error: "usage", message: `DAYS is a whole number from 1 to 3650, not "${bad}". Usage: replay [DAYS]` });
    }
    expect(fail("replay 7 days")).toMatchObject({ error: "usage", message: 'unexpected "days". Usage: replay [DAYS]' });
  });

  it("replay is audited with its number of days", () => {
    expect(formatCommand(ok("replay"))).toBe("replay 7");
    expect(formatCommand(ok("replay 030"))).toBe("replay 30");
    expect(formatCommand(ok("test"))).toBe("test");
  });
});

describe("parseJidArgument", () => {
  it("accepts JIDs and xmpp: URIs, rejects the rest", () => {
    expect(parseJidArgument("xmpp://a@b.test")).toBe("a@b.test");
    expect(parseJidArgument("a@b.test/res")).toBe("a@b.test");
    expect(parseJidArgument("a b@c")).toBeUndefined();
    expect(parseJidArgument("")).toBeUndefined();
  });
});

describe("formatCommand and help", () => {
  it("gives the canonical text of a command", () => {
    expect(formatCommand(ok("APPROVE a@B.test/x mutual"))).toBe("approve a@b.test mutual");
    expect(formatCommand(ok("roster  My Group"))).toBe("roster My Group");
    expect(formatCommand(ok("stats"))).toBe("stats");
  });

  it("help lists every command on its own short line", () => {
    const lines = HELP_TEXT.split("\n");
    expect(lines).toHaveLength(1 + Object.keys(USAGE).length);
    for (const usage of Object.values(USAGE)) expect(lines.some((l) => l.startsWith(usage + " - "))).toBe(true);
    expect(Math.max(...lines.map((l) => l.length))).toBeLessThanOrEqual(60);
  });
});
