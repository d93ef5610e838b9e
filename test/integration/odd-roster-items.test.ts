/**
 * Roster items the bot cannot read exactly, seeded straight into the server's storage: two items
 * whose JIDs are one JID under RFC 7622 (`Dup@example.org`, `dup@example.org`; legacy data), one
 * non-canonical JID (`Mixed@Example.ORG`) and three invalid ones. Group sync rules match all of
 * them; over two sessions (the second from the roster cache) no roster set touches any of them, the
 * hand-set item keeps its name and group, one warn line per session names them, and `plan` lists
 * them as skipped.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { XmlElement } from "../../bots/xmpp.ts";
import roster from "../../plugins/roster/index.ts";
import { serverKind, startServer, type RosterSeedItem, type XmppTestServer } from "../../scripts/xmpp-server.ts";
import { TestClient } from "../../scripts/xmpp-client.ts";
import { startTestBot, type LogCapture } from "../helpers/bot.ts";
import { tempDir } from "../helpers/tmp.ts";
import { until } from "../helpers/wait.ts";

const NS_ROSTER = "jabber:iq:roster";
const PASSWORD = "bot-password";
const WARN = "roster items the bot cannot read exactly: left unchanged, for a person to mend";

// ejabberd's roster get fails whole on a stored JID its stringprep refuses (a space), so the first
// invalid JID there is one it serves: a domain with an empty label.
const INVALID = [serverKind() === "ejabberd" ? "dots@example..org" : "not a jid@example.org", "a@b@example.org", "full@example.org/phone"];
const SEED: RosterSeedItem[] = [
  { jid: "Dup@example.org", name: "Legacy", groups: ["Old"] },
  { jid: "dup@example.org", name: "Set By Hand", groups: ["Mine"] },
  { jid: "Mixed@Example.ORG", name: "Mixed", groups: ["Old"] },
  ...INVALID.map((jid) => ({ jid, groups: ["Old"] })),
  // A readable contact the same rule matches: proves the rules do send sets.
  { jid: "fine@example.org", groups: [] },
];
const ODD_RAW = [...SEED.slice(0, 3).map((s) => s.jid), ...INVALID];
/** Every JID a set about an odd item could carry (its raw form or its canonical twin). */
const TOUCHES_ODD = new Set([...ODD_RAW, "dup@example.org", "mixed@example.org"].map((j) => j.toLowerCase()));

const GROUPS = {
  managed: ["Managed"],
  assign: [{ group: "Managed", match: { domain: "example.org" } }],
  contacts: [{ jid: "mixed@example.org", name: "Declared", groups: ["Managed"] }],
};

let server: XmppTestServer;
let host: string;
beforeAll(async () => {
  server = await startServer();
  host = server.hosts[0]!;
});
afterAll(async () => {
  await server?.stop();
});

/** One session of the bot (a login): its outgoing roster sets and its log. */
async function session(dataDir: string, user = "odd", groups: unknown = GROUPS) {
  const sets: XmlElement[] = [];
  const { runtime, logs } = await startTestBot({
    server,
    user,
    password: PASSWORD,
    dataDir,
    plugins: [{ definition: roster, config: { groups } }],
    beforeStart: (rt) =>
      rt.connection.client.on("send", (el: XmlElement) => {
        if (el.name === "iq" && el.attrs.type === "set" && el.getChild("query", NS_ROSTER)) sets.push(el);
      }),
  });
  const service = runtime.service("roster");
  await service.whenLoaded();
  return { runtime, service, sets, logs };
}

const setJids = (sets: XmlElement[]) => sets.flatMap((s) => s.getChild("query", NS_ROSTER)!.getChildren("item").map((i) => i.attrs.jid!));
const warnLines = (logs: LogCapture) => logs.lines.filter((l) => l.msg === WARN);
const groupSyncDone = (logs: LogCapture) => logs.lines.some((l) => l.msg === "group sync done");

/** The roster as the server gives it to another resource: raw jid -> name and groups. */
async function serverRoster(user = "odd"): Promise<Record<string, { name?: string; groups: string[] }>> {
  const reader = await TestClient.connect({ service: server.service, jid: `${user}@${host}`, password: PASSWORD, resource: "reader" });
  try {
    const reply = await reader.rosterGet();
    const out: Record<string, { name?: string; groups: string[] }> = {};
    for (const item of reply.getChild("query", NS_ROSTER)!.getChildren("item")) {
      out[item.attrs.jid!] = { ...(item.attrs.name ? { name: item.attrs.name } : {}), groups: item.getChildren("group").map((g) => g.text()).sort() };
    }
    return out;
  } finally {
    await reader.stop();
  }
}

describe("roster items the bot cannot read exactly", () => {
  it("are never set, named once per session, listed by plan as skipped, and survive two sessions", async () => {
    server.createAccount("odd", host, PASSWORD);
    server.writeRoster("odd", host, SEED);
    // The server hands the raw keys back as stored: both case forms, the mixed one, the invalid ones.
    const seeded = await serverRoster();
    expect(Object.keys(seeded).sort()).toEqual(SEED.map((s) => s.jid).sort());

    const data = tempDir("odd-roster-");
    try {
      // Session 1: full roster result.
      const first = await session(data.dir);
      try {
        await until(() => groupSyncDone(first.logs));
        expect(setJids(first.sets)).toEqual(["fine@example.org"]); // the readable contact only
        expect(first.service.get("fine@example.org")?.groups).toEqual(["Managed"]);
        // Not in the copy: neither case form, nor the mixed one, nor a canonical twin.
        expect(first.service.get("dup@example.org")).toBeUndefined();
        expect(first.service.get("mixed@example.org")).toBeUndefined();
        expect(first.service.unreadable().map((u) => u.raw).sort()).toEqual([...ODD_RAW].sort());

        const warned = warnLines(first.logs);
        expect(warned).toHaveLength(1);
        expect(warned[0]).toMatchObject({ level: 40, count: 6, more: 0 });
        const named = (warned[0]!.items as string[]).map((s) => s.slice(0, s.indexOf(" (")));
        expect(named.sort()).toEqual([...ODD_RAW].sort());

        const plan = first.service.groups.plan();
        expect(plan.changes).toEqual([]);
        expect(plan.skipped?.map((s) => s.jid).sort()).toEqual([...ODD_RAW].sort());
        expect(plan.skipped?.find((s) => s.jid === "Mixed@Example.ORG")?.reason).toBe("not in canonical form (mixed@example.org)");
        expect(plan.skipped?.find((s) => s.jid === "dup@example.org")?.reason).toBe("another item has the same canonical JID (dup@example.org)");

        // A person's set through the API is refused too: it would overwrite or twin the item.
        await expect(first.service.set({ jid: "MIXED@example.org", groups: ["X"] })).rejects.toMatchObject({ condition: "conflict" });
        expect(setJids(first.sets).filter((j) => TOUCHES_ODD.has(j.toLowerCase()))).toEqual([]);
      } finally {
        await first.runtime.stop();
      }

      // Session 2: a new login with the roster cache (the server may answer "unchanged").
      const second = await session(data.dir);
      try {
        expect(second.service.unreadable().map((u) => u.raw).sort()).toEqual([...ODD_RAW].sort());
        expect(await second.service.groups.sync()).toMatchObject({ applied: [], failed: [] });
        expect(second.sets).toEqual([]);
        expect(warnLines(second.logs)).toHaveLength(1);
      } finally {
        await second.runtime.stop();
      }
    } finally {
      data.remove();
    }

    // In storage: the hand-set name and group of dup@example.org, and every odd item, as seeded.
    const stored = await serverRoster();
    expect(stored["dup@example.org"]).toEqual({ name: "Set By Hand", groups: ["Mine"] });
    expect(stored["Dup@example.org"]).toEqual({ name: "Legacy", groups: ["Old"] });
    expect(stored["Mixed@Example.ORG"]).toEqual({ name: "Mixed", groups: ["Old"] });
    expect(stored["mixed@example.org"]).toBeUndefined();
    for (const jid of INVALID) expect(stored[jid]).toEqual({ groups: ["Old"] });
  });
});


describe("a roster item the server holds in the A-label spelling of its domain", () => {
  const IDN = "idn@xn--bcher-kva.example"; // idn@bücher.example
  const TWINS = ["twin@xn--bcher-kva.example", "twin@bücher.example"];

  it("is read under its U-label form and changed in the server's spelling over two sessions; with a U-label twin both are left alone", async () => {
    server.createAccount("idn", host, PASSWORD);
    server.writeRoster("idn", host, [{ jid: IDN, name: "Hand", groups: ["Old"] }, ...TWINS.map((jid) => ({ jid, groups: [] }))]);
    const groups = { managed: ["Managed"], assign: [{ group: "Managed", match: { domain: "bücher.example" } }] };
    const data = tempDir("idn-roster-");
    try {
      // Session 1: full roster result; group sync's set goes out in A-labels (a U-label one would make a twin).
      const first = await session(data.dir, "idn", groups);
      try {
        await until(() => groupSyncDone(first.logs));
        expect(setJids(first.sets)).toEqual([IDN]);
        expect(first.service.get("idn@bücher.example")).toMatchObject({ jid: "idn@bücher.example", name: "Hand", groups: ["Managed", "Old"] });
        expect(first.service.unreadable().map((u) => u.raw).sort()).toEqual([...TWINS].sort());
      } finally {
        await first.runtime.stop();
      }
      // Session 2: from the roster cache (the server may answer "unchanged"); a set through the API
      // in U-labels still goes out in the server's spelling.
      const second = await session(data.dir, "idn", groups);
      try {
        await second.service.set({ jid: "idn@bücher.example", name: "Hand", groups: ["Managed", "New", "Old"] });
        expect(setJids(second.sets)).toEqual([IDN]);
        expect(second.service.unreadable().map((u) => u.raw).sort()).toEqual([...TWINS].sort());
      } finally {
        await second.runtime.stop();
      }
    } finally {
      data.remove();
    }
    const stored = await serverRoster("idn");
    expect(Object.keys(stored).sort()).toEqual([IDN, ...TWINS].sort());
    expect(stored[IDN]).toEqual({ name: "Hand", groups: ["Managed", "New", "Old"] });
  });
});
