/**
 * The admin chat commands: parsing a message body into a command (pure, no I/O).
 *
 * Forgiving where phones are sloppy (command word in any case, extra spaces, an `xmpp:` URI or a
 * full JID where a bare JID is meant), strict where a mistake would act on the wrong contact
 * (an invalid JID or unexpected words are a usage error, never a guess).
 */
import { parseJid } from "../../index.ts";
import { formatDuration, parseBlockDuration } from "./duration-text.ts";

export type Command =
  | { name: "help" }
  | { name: "pending" }
  | { name: "approve"; jid: string; mutual: boolean }
  | { name: "grant"; jid: string }
  | { name: "deny"; jid: string }
  /**
   * A bare JID, or a domain (a domain entry). `given`: as typed (resource cut) when it differs from
   * `jid` by more than case, so the server gets the spelling the admin used (A-labels stay A-labels).
   */
  | { name: "block"; jid: string; given?: string; forMs?: number }
  /** `full`: the full JID typed (normal form), for an entry a person made for one resource. */
  | { name: "unblock"; jid: string; given?: string; full?: string }
  | { name: "blocked" }
  /** `given`: the JID as typed (resource cut), when it differs from the normal form `jid` by more than case. */
  | { name: "explain"; jid: string; given?: string }
  | { name: "plan" }
  | { name: "sync" }
  | { name: "roster"; group: string | undefined }
  | { name: "stats" }
  /** Runs the policy test cases the config names (`subscriptions.tests`). */
  | { name: "test" }
  /** Replays the audit log of the last `days` days against the running rules. */
  | { name: "replay"; days: number };

export type CommandName = Command["name"];

export type ParseResult =
  | { ok: true; command: Command }
  /** `unknown`: not a command word; `usage`: a known command with wrong arguments. */
  | { ok: false; error: "unknown" | "usage"; message: string };

/** `replay` with no number replays this many days; at most MAX_REPLAY_DAYS (ten years). */
export const DEFAULT_REPLAY_DAYS = 7;
export const MAX_REPLAY_DAYS = 3650;

/** Longest body parsed; anything longer is not a command (and is not echoed back). */
export const MAX_COMMAND_LENGTH = 1_000;

export const USAGE: Record<CommandName, string> = {
  help: "help",
  pending: "pending",
  approve: "approve JID [mutual]",
  grant: "grant JID",
  deny: "deny JID",
  block: "block JID|DOMAIN [FOR]",
  unblock: "unblock JID|DOMAIN",
  blocked: "blocked",
  explain: "explain JID",
  plan: "plan",
  sync: "sync",
  roster: "roster [GROUP]",
  stats: "stats",
  test: "test",
  replay: "replay [DAYS]",
};

const DESCRIPTIONS: Record<CommandName, string> = {
  help: "this list",
  pending: "requests waiting for an answer",
  approve: "accept a held request (mutual: both)",
  grant: "give JID the bot's presence without a request",
  deny: "reject a request",
  block: "block at the server (FOR: 30m, 7d)",
  unblock: "lift a block",
  blocked: "the server's blocklist",
  explain: "what the rules answer for JID",
  plan: "what group sync would change",
  sync: "run group sync now",
  roster: "contacts (in GROUP)",
  stats: "counts and decisions since start",
  test: "run the policy test cases",
  replay: `re-decide the last DAYS (${DEFAULT_REPLAY_DAYS}) days of requests`,
};

export const HELP_TEXT = ["Commands:", ...(Object.keys(USAGE) as CommandName[]).map((n) => `${USAGE[n]} - ${DESCRIPTIONS[n]}`)].join("\n");

const NAMES = new Set<string>(Object.keys(USAGE));

function usage(name: CommandName, why?: string): ParseResult {
  return { ok: false, error: "usage", message: `${why ? why + ". " : ""}Usage: ${USAGE[name]}` };
}

/** The JID text of an argument: an `xmpp:` URI's scheme and query taken off. */
function jidText(arg: string): string {
  let text = arg.trim();
  if (/^xmpp:/i.test(text)) text = text.slice(5).replace(/^\/\//, "");
  const query = text.indexOf("?");
  return query === -1 ? text : text.slice(0, query);
}

/** The bare JID as typed (resource cut), when it differs from its normal form by more than case. */
function givenSpelling(text: string, bare: string): string | undefined {
  const given = text.split("/")[0]!;
  return given.toLowerCase() === bare ? undefined : given;
}

/**
 * What `block` / `unblock` name: a bare JID or a domain ("@spam.example" read as the domain), with
 * the spelling typed and, for a full JID, the full JID.
 */
export function parseBlockTarget(arg: string): { jid: string; given?: string; full?: string } | undefined {
  const text = jidText(arg).replace(/^@(?=[^@/]+$)/, "");
  try {
    const jid = parseJid(text);
    const given = givenSpelling(text, jid.bare);
    return { jid: jid.bare, ...(given ? { given } : {}), ...(jid.resource ? { full: jid.full } : {}) };
  } catch {
    return undefined;
  }
}

/** A JID argument as a normalized bare JID; accepts `xmpp:` URIs and full JIDs. */
export function parseJidArgument(arg: string): string | undefined {
  try {
    return parseJid(jidText(arg)).bare;
  } catch {
    return undefined;
  }
}

function shorten(s: string, max = 60): string {
  return s.length > max ? s.slice(0, max) + "…" : s;
}

export function parseCommand(body: string): ParseResult {
  const text = body.trim();
  if (text === "" || text.length > MAX_COMMAND_LENGTH) return { ok: false, error: "unknown", message: "not a command" };
  const [word = "", ...args] = text.split(/\s+/);
  const name = word.toLowerCase();
  if (!NAMES.has(name)) return { ok: false, error: "unknown", message: `unknown command "${shorten(word, 30)}"` };
  const cmd = name as CommandName;

  switch (cmd) {
    case "help":
    case "pending":
    case "blocked":
    case "plan":
    case "sync":
    case "stats":
    case "test":
      return args.length ? usage(cmd, `${cmd} takes no arguments`) : { ok: true, command: { name: cmd } };
    case "replay": {
      if (args.length === 0) return { ok: true, command: { name: "replay", days: DEFAULT_REPLAY_DAYS } };
      const [arg, ...rest] = args;
      if (rest.length) return usage(cmd, `unexpected "${shorten(rest.join(" "))}"`);
      const days = /^\d{1,4}$/.test(arg!) ? Number(arg) : NaN;
      if (!(days >= 1 && days <= MAX_REPLAY_DAYS)) return usage(cmd, `DAYS is a whole number from 1 to ${MAX_REPLAY_DAYS}, not "${shorten(arg!)}"`);
      return { ok: true, command: { name: "replay", days } };
    }
    case "roster": {
      const group = text.slice(word.length).trim();
      return { ok: true, command: { name: "roster", group: group === "" ? undefined : group } };
    }
    case "approve":
    case "grant":
    case "deny":
    case "explain": {
      const [arg, ...rest] = args;
      if (arg === undefined) return usage(cmd, "a JID is needed");
      const jid = parseJidArgument(arg);
      if (!jid) return usage(cmd, `"${shorten(arg)}" is not a valid JID`);
      if (cmd === "approve") {
        const flags = rest.map((r) => r.toLowerCase());
        if (flags.length === 0) return { ok: true, command: { name: "approve", jid, mutual: false } };
        if (flags.length === 1 && flags[0] === "mutual") return { ok: true, command: { name: "approve", jid, mutual: true } };
        return usage(cmd, `unexpected "${shorten(rest.join(" "))}"`);
      }
      if (rest.length) return usage(cmd, `unexpected "${shorten(rest.join(" "))}"`);
      const given = givenSpelling(jidText(arg), jid);
      if (cmd === "explain" && given) return { ok: true, command: { name: cmd, jid, given } };
      return { ok: true, command: { name: cmd, jid } };
    }
    case "block":
    case "unblock": {
      const [arg, ...rest] = args;
      if (arg === undefined) return usage(cmd, "a JID or domain is needed");
      const target = parseBlockTarget(arg);
      if (!target) return usage(cmd, `"${shorten(arg)}" is not a valid JID or domain`);
      if (cmd === "unblock") return rest.length ? usage(cmd, `unexpected "${shorten(rest.join(" "))}"`) : { ok: true, command: { name: cmd, ...target } };
      // A block is of the bare JID (or domain): the resource is cut.
      const named = { jid: target.jid, ...(target.given ? { given: target.given } : {}) };
      if (rest.length === 0) return { ok: true, command: { name: cmd, ...named } };
      // "7d", "for 7d" and "7 d" all read as seven days.
      const words = rest[0]!.toLowerCase() === "for" ? rest.slice(1) : rest;
      const forText = words.join("");
      if (forText === "") return usage(cmd, "a duration is needed after \"for\"");
      const parsed = parseBlockDuration(forText);
      if ("error" in parsed) return usage(cmd, parsed.error);
      return { ok: true, command: { name: cmd, ...named, forMs: parsed.ms } };
    }
  }
}

/** The canonical text of a command, for the audit log. */
export function formatCommand(c: Command): string {
  switch (c.name) {
    case "approve":
      return `approve ${c.jid}${c.mutual ? " mutual" : ""}`;
    case "grant":
    case "deny":
    case "explain":
      return `${c.name} ${c.jid}`;
    case "block":
      return c.forMs === undefined ? `block ${c.jid}` : `block ${c.jid} ${formatDuration(c.forMs)}`;
    case "unblock":
      return `unblock ${c.full ?? c.jid}`;
    case "roster":
      return c.group === undefined ? "roster" : `roster ${c.group}`;
    case "replay":
      return `replay ${c.days}`;
    default:
      return c.name;
  }
}
