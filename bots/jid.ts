/**
 * JID parsing and normalization (RFC 7622, simplified PRECIS); @xmpp/jid only lower-cases. Width forms
 * are mapped (RFC 7622 §3.3.2) because the server maps them: a rule for alice@example.org holds for
 * "ａｌｉｃｅ@ｅｘａｍｐｌｅ.org". Look-alikes from other scripts (Cyrillic "а") stay other JIDs.
 * Internationalized domains are kept in U-labels: "xn--bcher-kva.example" is "bücher.example".
 */
import { domainToASCII, domainToUnicode } from "node:url";

export const MAX_PART_OCTETS = 1023;

export class JidError extends Error {
  constructor(
    message: string,
    readonly input: string,
  ) {
    super(message);
    this.name = "JidError";
  }
}

export interface Jid {
  /** Normalized local part, or "" for a domain JID. */
  readonly local: string;
  readonly domain: string;
  /** Resource as given (NFC), or "" when absent. */
  readonly resource: string;
  /** `local@domain` or `domain`. */
  readonly bare: string;
  /** bare JID plus `/resource` when there is one. */
  readonly full: string;
}

// RFC 7622 §3.3.1: characters a localpart may not hold.
const FORBIDDEN_LOCAL = /["&'/:<>@\s\p{Cc}]/u;
const FORBIDDEN_DOMAIN = /[@/\s\p{Cc}"<>&']/u;

// The Halfwidth and Fullwidth Forms block; their compatibility decomposition is the width mapping.
const WIDTH_FORM = /[\uFF01-\uFFEE]/;
const WIDTH_FORMS = /[\uFF01-\uFFEE]/g;

function mapWidth(s: string): string {
  return WIDTH_FORM.test(s) ? s.replace(WIDTH_FORMS, (c) => c.normalize("NFKC")) : s;
}

function octets(s: string): number {
  return Buffer.byteLength(s, "utf8");
}

// Only a domain with a non-ASCII character or an A-label prefix needs IDNA work; the rest (nearly
// every JID) costs this one test.
const NEEDS_IDNA = /[^\0-\x7f]|xn--/;

/**
 * The U-label form of a lower-cased domain. RFC 7622 §3.2.1 prepares a domainpart from U-labels:
 * an A-label is converted to its U-label first, so both spellings are one JID. Throws JidError
 * for a domain that is not a valid internationalized domain name (e.g. "xn--" not followed by
 * valid Punycode).
 */
export function canonicalDomain(domain: string, input: string = domain): string {
  if (!NEEDS_IDNA.test(domain)) return domain;
  // UTS #46 processing (the WHATWG URL rules): maps, validates and decodes A-labels; "" = invalid.
  // Node versions differ on a bad A-label (Node 20 answers "", Node 24 leaves it undecoded), so a
  // label still in "xn--" form, or a result that does not convert back, is invalid too.
  const ascii = domainToASCII(domain);
  const unicode = ascii === "" ? "" : domainToUnicode(ascii);
  if (unicode === "" || /(^|\.)xn--/.test(unicode) || domainToASCII(unicode) !== ascii) {
    throw new JidError(`domain of JID "${domain.slice(0, 64)}" is not a valid internationalized domain name (IDNA)`, input);
  }
  return unicode;
}

/** The A-label (ASCII) form of a canonical domain, for a server that knows a host only so. */
export function asciiDomain(domain: string): string {
  return NEEDS_IDNA.test(domain) ? domainToASCII(domain) : domain;
}

/** Checks a part's length; returns its size in UTF-8 octets (equal to its length when it is ASCII). */
function checkPart(part: string, what: string, input: string): number {
  if (part.length === 0) throw new JidError(`empty ${what} in JID`, input);
  const size = octets(part);
  if (size > MAX_PART_OCTETS) {
    throw new JidError(`${what} of JID is over ${MAX_PART_OCTETS} octets`, input);
  }
  return size;
}

/** Parses and normalizes a JID; throws JidError when it is malformed or oversized. */
export function parseJid(input: string): Jid {
  if (typeof input !== "string") throw new JidError("JID is not a string", String(input));
  // Cheap guard before any Unicode work on hostile input.
  if (input.length > 3 * (MAX_PART_OCTETS + 1)) {
    throw new JidError("JID is too long", input.slice(0, 64) + "…");
  }
  const slash = input.indexOf("/");
  const bareInput = slash === -1 ? input : input.slice(0, slash);
  const resourceInput = slash === -1 ? "" : input.slice(slash + 1);
  const at = bareInput.lastIndexOf("@");
  const localInput = at === -1 ? "" : mapWidth(bareInput.slice(0, at));
  let domainInput = at === -1 ? mapWidth(bareInput) : mapWidth(bareInput.slice(at + 1));
  if (domainInput.endsWith(".")) domainInput = domainInput.slice(0, -1);

  const prepared = domainInput.normalize("NFC").toLowerCase();
  const size = checkPart(prepared, "domain", input);
  if (FORBIDDEN_DOMAIN.test(prepared) || prepared.startsWith(".") || prepared.includes("..")) {
    throw new JidError("domain of JID holds a forbidden character", input);
  }
  // The octet count already tells an ASCII domain, so most JIDs skip even NEEDS_IDNA's regex.
  const ascii = size === prepared.length && !prepared.includes("xn--");
  const domain = ascii ? prepared : canonicalDomain(prepared, input);
  if (domain !== prepared) checkPart(domain, "domain", input);

  let local = "";
  if (at !== -1) {
    local = localInput.normalize("NFC").toLowerCase();
    checkPart(local, "local part", input);
    if (FORBIDDEN_LOCAL.test(local)) {
      throw new JidError("local part of JID holds a forbidden character", input);
    }
  }

  let resource = "";
  if (slash !== -1) {
    resource = resourceInput.normalize("NFC");
    checkPart(resource, "resource", input);
    if (/\p{Cc}/u.test(resource)) {
      throw new JidError("resource of JID holds a control character", input);
    }
  }

  // join() builds a flat new string: a template literal would make a rope over views of `input`.
  const bare = local ? [local, domain].join("@") : domain;
  return { local, domain, resource, bare, full: resource ? `${bare}/${resource}` : bare };
}

/** Normalized bare JID, or undefined when the input is not a valid JID. */
export function bareJid(input: string | undefined | null): string | undefined {
  if (input == null) return undefined;
  try {
    return parseJid(input).bare;
  } catch {
    return undefined;
  }
}

/** Domain of a JID without validating it (for already-normalized JIDs). */
export function domainOf(bare: string): string {
  const at = bare.lastIndexOf("@");
  return at === -1 ? bare : bare.slice(at + 1);
}

/**
 * The bare JID to address a peer by: its normal form, but with the domain in A-labels when the
 * peer wrote it so. Servers keep a domain in the spelling a client used (to Prosody,
 * `xn--bcher-kva.example` and `bücher.example` are two hosts), so an answer must go back in that
 * spelling; compare JIDs only in their parseJid form. Throws JidError like parseJid.
 */
export function addressOf(input: string): string {
  const jid = parseJid(input);
  const slash = input.indexOf("/");
  const bare = slash === -1 ? input : input.slice(0, slash);
  if (!/xn--/i.test(bare.slice(bare.lastIndexOf("@") + 1))) return jid.bare;
  const domain = asciiDomain(jid.domain);
  return jid.local ? [jid.local, domain].join("@") : domain;
}
