/**
 * The allowlist file and its lookup (pure, no I/O): `{ "jids": [...], "domains": [...] }`, both
 * optional. Entries are normalized like every JID the bot compares (lower case, Unicode NFC); a
 * domain entry matches that exact domain, not its subdomains.
 */
import { bareJid, domainOf, parseJid, z } from "roster-bot";

const fileSchema = z
  .object({
    jids: z.array(z.string()).default([]).describe("Bare JIDs to accept"),
    domains: z.array(z.string()).default([]).describe("Domains whose every JID is accepted"),
  })
  .strict();

export interface Allowlist {
  readonly jids: ReadonlySet<string>;
  readonly domains: ReadonlySet<string>;
}

export class AllowlistError extends Error {
  override name = "AllowlistError";
}

/** Parses the file's text; throws AllowlistError naming the first problem. */
export function parseAllowlist(text: string): Allowlist {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new AllowlistError(`not valid JSON: ${(err as Error).message}`);
  }
  const parsed = fileSchema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new AllowlistError(`${issue.path.join(".") || "file"}: ${issue.message}`);
  }
  const jids = new Set<string>();
  for (const entry of parsed.data.jids) {
    const jid = bareJid(entry);
    if (!jid || !jid.includes("@") || entry.includes("/")) throw new AllowlistError(`jids: "${entry}" is not a bare JID`);
    jids.add(jid);
  }
  const domains = new Set<string>();
  for (const entry of parsed.data.domains) {
    let domain: string | undefined;
    try {
      const jid = parseJid(entry);
      if (jid.local === "" && jid.resource === "") domain = jid.domain;
    } catch {
      // reported below
    }
    if (!domain) throw new AllowlistError(`domains: "${entry}" is not a domain`);
    domains.add(domain);
  }
  return { jids, domains };
}

/** Whether a normalized bare JID is listed, itself or by its domain. */
export function isListed(list: Allowlist, jid: string): boolean {
  return list.jids.has(jid) || list.domains.has(domainOf(jid));
}
