/**
 * Benchmark: subscription decisions that use roster facts, with 100 and with 100,000 contacts in the
 * roster (issue #13). A decision looks one contact up and never walks the roster, so the target is the
 * same cost per decision at both sizes: a ratio 100k/100 of 1.0–1.1 within noise.
 *
 * The real roster plugin runs on a network-free fake connection (test/helpers/fake-shared.ts): the
 * roster arrives as the login's roster result, and every request is a `subscribe` presence routed to
 * SubscriptionHandler, which looks the sender up, builds its facts, asks the decide hook (rules on
 * inRoster, group and subscription next to domain, JID and regex rules), sends the answer to the
 * fake connection, writes the audit line (to a temp folder) and logs at info (to a discarding stream).
 *
 *   request    the whole path above, one presence at a time
 *   decision   only its lookup → facts → decide hook steps (the same calls, in the handler's order),
 *              so a cost that grows with the roster is not hidden behind answer, audit and log
 *
 * Requests: about half from roster contacts (a tenth of those already subscribed to us, which the
 * handler answers without a decision), half from strangers. Contact i is the same in both rosters,
 * so the big roster is asked twice over: with the very requests the small one gets (same contacts,
 * same decisions: only the roster size differs), and by contacts spread over all of it (more
 * distinct contacts touched, so more cache misses: memory, not work that grows with the roster).
 * Scenarios alternate in every round (the machine is noisy); each figure is the median over rounds.
 *
 * Baseline (2 vCPUs, Node 20): request 1.06–1.08 (same) and 1.12–1.15 (spread); decision 1.17–1.18
 * and 1.48–1.61, i.e. at most ~1 µs more, 0.01 ns per extra contact: cache misses in the lookup of a
 * 100,000-entry Map (RosterCopy) and the items it reaches, not a walk (≥ 1 ns per contact).
 *
 * Run: npx tsx bench/roster-decisions.ts    (or `npm run bench -- roster-decisions`); ROUNDS=n (9)
 */
import type { DestinationStream } from "pino";
import { setImmediate as nextTurn, setTimeout as sleep } from "node:timers/promises";
import { PluginContext } from "../bots/context.ts";
import { createLogger } from "../bots/logger.ts";
import { xml, type XmlElement } from "../bots/xmpp.ts";
import type { RosterService, SubscriptionRequest } from "../plugins/roster/api.ts";
import { rosterConfigSchema } from "../plugins/roster/config.ts";
import roster from "../plugins/roster/index.ts";
import { NS_ROSTER } from "../plugins/roster/item.ts";
import type { SubscriptionRule } from "../plugins/roster/policy/match-schema.ts";
import { rosterFacts } from "../plugins/roster/subscription-handler.ts";
import { SUBSCRIPTIONS, theyHaveOurPresence, type Subscription } from "../plugins/roster/subscription.ts";
import { fakeShared } from "../test/helpers/fake-shared.ts";
import { prng } from "../test/helpers/prng.ts";
import { tempDir } from "../test/helpers/tmp.ts";
import { median } from "./stats.ts";

const SMALL = 100;
const BIG = 100_000;
const ROUNDS = Math.max(3, Number(process.env.ROUNDS ?? 9));
const WARMUP_ROUNDS = 2;
/** Distinct requests per scenario, cycled through. */
const REQUESTS = 8_192;
const REQUEST_BATCH = 10_000;
const DECISION_BATCH = 200_000;
/** The audit log writes once per event-loop turn; a real bot gets a turn per stanza or so. */
const TURN_EVERY = 256;

const BOT = "bot@bench.test";
const GROUPS = ["Friends", "Family", "Work", "Ops", "Customers", "Night shift", "Old", "Blocked"];
const DOMAINS = ["corp.test", "partner.test", "b.test", "c.test", "friends.example"];

const RULES: SubscriptionRule[] = [
  { name: "blocked", match: { jid: ["troll@corp.test", "mallory@partner.test"] }, action: "reject" },
  { name: "spam", match: { any: [{ domain: ["spam.test", "*.spam.test"] }, { regex: "^(spam|bot)[0-9]*@" }] }, action: "reject" },
  { name: "muted", match: { group: "Blocked" }, action: "ignore" },
  { name: "staff", match: { all: [{ domain: "corp.test" }, { inRoster: true }] }, action: "mutual" },
  { name: "friends", match: { group: ["Friends", "Family"] }, action: "accept" },
  { name: "followed", match: { all: [{ subscription: "to" }, { not: { group: "Old" } }] }, action: "mutual" },
  { name: "partners", match: { jid: "*@partner.test" }, action: "accept" },
  { name: "corp-strangers", match: { all: [{ inRoster: false }, { domain: "corp.test" }] }, action: "reject" },
  { name: "known", match: { all: [{ inRoster: true }, { subscription: ["none", "to"] }] }, action: "accept" },
];

interface Contact {
  jid: string;
  subscription: Subscription;
  groups: string[];
}

/** Contact i, the same whatever the roster's size. */
function contact(i: number): Contact {
  const random = prng(i + 1);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(random() * xs.length)]!;
  const groups = new Set(Array.from({ length: Math.floor(random() * 3) }, () => pick(GROUPS)));
  return { jid: `contact${i}@${DOMAINS[i % DOMAINS.length]}`, subscription: pick(SUBSCRIPTIONS), groups: [...groups] };
}

/** Requesters: 45% roster contacts not yet subscribed to us, 5% already subscribed, 50% strangers. */
function requestsFor(contacts: readonly Contact[], seed: number): string[] {
  const random = prng(seed);
  const int = (n: number) => Math.floor(random() * n);
  const subscribed = (c: Contact) => theyHaveOurPresence({ subscription: c.subscription, approved: false });
  const open = contacts.filter((c) => !subscribed(c));
  const asked = contacts.filter(subscribed);
  const stranger = () => {
    switch (int(5)) {
      case 0:
        return `someone${int(1e6)}@corp.test`;
      case 1:
        return `p${int(1e6)}@partner.test`;
      case 2:
        return int(2) ? `spam${int(1e4)}@mail${int(100)}.spam.test` : `bot${int(1e4)}@x${int(1e4)}.example`;
      default:
        return `user${int(1e6)}@s${int(1e5)}.example.com`;
    }
  };
  return Array.from({ length: REQUESTS }, () => {
    const r = random();
    if (r < 0.45) return open[int(open.length)]!.jid;
    if (r < 0.5) return asked[int(asked.length)]!.jid;
    return stranger();
  });
}

const discard: DestinationStream = { write: () => {} };

interface Bot {
  service: RosterService;
  route(stanza: XmlElement): Promise<void>;
  /** Counts answers by rule or decider into this map while set. */
  counting: Map<string, number> | undefined;
  dispose(): Promise<void>;
}

/** The roster plugin on a fake connection, logged in with a roster of `size` contacts. */
async function botWithRoster(size: number): Promise<Bot> {
  const tmp = tempDir("bench-decisions-");
  const env = fakeShared(tmp.dir, BOT);
  const ctx = new PluginContext<never>("roster", createLogger("info", discard), env.shared);
  await roster.apply(ctx, rosterConfigSchema.parse({ cache: false, subscriptions: { default: "reject", rules: RULES } }));
  const service = env.shared.services.get("roster")!.value as RosterService;

  // The login: the server's roster result carries every contact.
  const query = xml("query", { xmlns: NS_ROSTER, ver: "1" });
  // One child at a time: 100,000 spread arguments overflow the stack.
  for (let i = 0; i < size; i++) {
    const c = contact(i);
    query.append(xml("item", { jid: c.jid, subscription: c.subscription }, ...c.groups.map((g) => xml("group", {}, g))));
  }
  const answer = env.connection.request;
  env.connection.request = (s: XmlElement) => Promise.resolve(xml("iq", { type: "result", id: s.attrs.id }, query));
  for (const entry of env.shared.lifecycle.filter((e) => e.kind === "session")) await entry.fn();
  env.connection.request = answer; // drops the XML
  if (service.list().length !== size) throw new Error(`roster holds ${service.list().length} contacts, not ${size}`);
  await sleep(200); // group sync's run after the load, so it is not timed with the decisions

  // Answers are not kept: the roster and the requests stay the same from round to round.
  env.connection.send = async () => {};
  const bot: Bot = {
    service,
    route: (stanza) => env.router.routeStanza(stanza),
    counting: undefined,
    async dispose() {
      await ctx.dispose();
      tmp.remove();
    },
  };
  service.hooks.subscriptionDecided.tap("bench", (d) => {
    const key = d.rule ?? d.decidedBy;
    bot.counting?.set(key, (bot.counting.get(key) ?? 0) + 1);
  });
  return bot;
}

interface Scenario {
  label: string;
  bot: Bot;
  jids: string[];
  stanzas: XmlElement[];
  answered: Map<string, number>;
  request: number[];
  decision: number[];
}

function scenario(label: string, bot: Bot, jids: string[]): Scenario {
  const stanzas = jids.map((jid) => xml("presence", { from: `${jid}/phone`, type: "subscribe" }));
  return { label, bot, jids, stanzas, answered: new Map(), request: [], decision: [] };
}

/** ns per request, through the router and the real handler. */
async function timeRequests(s: Scenario): Promise<number> {
  s.bot.counting = s.answered;
  const start = process.hrtime.bigint();
  for (let i = 0; i < REQUEST_BATCH; i++) {
    await s.bot.route(s.stanzas[i % REQUESTS]!);
    if (i % TURN_EVERY === TURN_EVERY - 1) await nextTurn();
  }
  await nextTurn();
  const ns = Number(process.hrtime.bigint() - start) / REQUEST_BATCH;
  s.bot.counting = undefined;
  return ns;
}

/** ns per request: SubscriptionHandler.onRequest's lookup, facts and decide hook, nothing else. */
async function timeDecisions(s: Scenario): Promise<number> {
  const { service } = s.bot;
  const hook = service.hooks.subscriptionRequest;
  let decided = 0;
  const start = process.hrtime.bigint();
  for (let i = 0; i < DECISION_BATCH; i++) {
    const n = i % REQUESTS;
    const jid = s.jids[n]!;
    const item = service.get(jid);
    if (theyHaveOurPresence(item)) continue;
    const request: SubscriptionRequest = { jid, facts: rosterFacts(jid, item), item, stanza: s.stanzas[n]! };
    if (await hook.decide(request)) decided++;
  }
  const ns = Number(process.hrtime.bigint() - start) / DECISION_BATCH;
  if (decided === 0) throw new Error("no request was decided");
  return ns;
}

const num = (n: number) => Math.round(n).toLocaleString("en-US");

export async function run(): Promise<void> {
  const setupStart = performance.now();
  const small = await botWithRoster(SMALL);
  const big = await botWithRoster(BIG);
  const smallJids = requestsFor(Array.from({ length: SMALL }, (_, i) => contact(i)), 1);
  const scenarios = [
    scenario(`${num(SMALL)} contacts`, small, smallJids),
    scenario(`${num(BIG)}, same requests`, big, smallJids),
    scenario(`${num(BIG)}, spread requests`, big, requestsFor(Array.from({ length: BIG }, (_, i) => contact(i)), 2)),
  ];
  console.log(`rosters of ${num(SMALL)} and ${num(BIG)} contacts, ${RULES.length} rules (inRoster, group, subscription, domain, jid, regex); set up in ${((performance.now() - setupStart) / 1000).toFixed(1)} s`);

  try {
    for (let round = 0; round < WARMUP_ROUNDS + ROUNDS; round++) {
      // Rotate which scenario goes first, so drift in machine speed hits all alike.
      const order = scenarios.map((_, i) => scenarios[(i + round) % scenarios.length]!);
      for (const s of order) {
        const request = await timeRequests(s);
        const decision = await timeDecisions(s);
        if (round < WARMUP_ROUNDS) continue;
        s.request.push(request);
        s.decision.push(decision);
      }
    }

    for (const s of scenarios) {
      const total = [...s.answered.values()].reduce((a, n) => a + n, 0);
      const shares = [...s.answered].sort((x, y) => y[1] - x[1]).map(([by, n]) => `${by} ${((100 * n) / total).toFixed(0)}%`);
      console.log(`${s.label.padEnd(26)} answered: ${shares.join(", ")}`);
    }
    console.log(`medians of ${ROUNDS} rounds (after ${WARMUP_ROUNDS} warm-up); per round and scenario ${num(REQUEST_BATCH)} requests, ${num(DECISION_BATCH)} decisions`);
    console.log(`${"".padEnd(26)} ${"request".padStart(10)} ${"ratio".padStart(6)} ${"decision".padStart(10)} ${"ratio".padStart(6)}   (ns per request; ratio to ${num(SMALL)})`);
    const [base] = scenarios;
    for (const s of scenarios) {
      const cells = (["request", "decision"] as const).map((kind) => {
        const m = median(s[kind]);
        return `${num(m).padStart(10)} ${(m / median(base![kind])).toFixed(2).padStart(6)}`;
      });
      console.log(`${s.label.padEnd(26)} ${cells.join(" ")}`);
    }
    // What a scan would cost is at least a nanosecond per contact: far above what the big roster adds.
    const extra = Math.max(...scenarios.slice(1).map((s) => median(s.decision) - median(base!.decision)));
    console.log(`most a decision gains at ${num(BIG)}: ${num(extra)} ns = ${(extra / (BIG - SMALL)).toFixed(3)} ns per extra contact (a walk over the roster costs ≥ 1 ns per contact)`);
  } finally {
    await small.dispose();
    await big.dispose();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
