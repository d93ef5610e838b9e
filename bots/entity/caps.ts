/**
 * XEP-0115 entity capabilities: the `ver` a contact's client uses to cache what the bot supports
 * instead of asking each time (§5.1, with sha-1 as every client understands it).
 */
import { createHash } from "node:crypto";

export const NS_CAPS = "http://jabber.org/protocol/caps";

/** A XEP-0030 identity; `name` is shown by clients, `lang` is its xml:lang. */
export interface DiscoIdentity {
  category: string;
  type: string;
  name?: string;
  lang?: string;
}

/** "i;octet" order (RFC 4790): by UTF-8 bytes, which JavaScript's UTF-16 order is not. */
function octetCompare(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}

/**
 * The string S of §5.1: identities sorted by category, type and xml:lang, each as
 * `category/type/lang/name<`, then the features sorted, each followed by `<`. Values enter as
 * character data, never XML-escaped (a name `A & B` hashes as `&`, not `&amp;`).
 */
export function capsVerificationString(identities: readonly DiscoIdentity[], features: readonly string[]): string {
  const sorted = [...identities].sort(
    (a, b) => octetCompare(a.category, b.category) || octetCompare(a.type, b.type) || octetCompare(a.lang ?? "", b.lang ?? ""),
  );
  let s = "";
  for (const i of sorted) s += `${i.category}/${i.type}/${i.lang ?? ""}/${i.name ?? ""}<`;
  for (const f of [...features].sort(octetCompare)) s += `${f}<`;
  return s;
}

/** Base64 of the SHA-1 of S (UTF-8), the `ver` attribute with hash="sha-1". */
export function capsVer(identities: readonly DiscoIdentity[], features: readonly string[]): string {
  return createHash("sha1").update(capsVerificationString(identities, features), "utf8").digest("base64");
}
