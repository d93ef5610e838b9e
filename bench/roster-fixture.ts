/**
 * The large roster the start-up and memory benchmarks share: `ROSTER_SIZE` contacts (default
 * 10,000; "100k" or any number), a mix of names, subscriptions and one or two of eight groups.
 */
import type { RosterSeedItem } from "../scripts/prosody.ts";
import { TestClient } from "../scripts/xmpp-client.ts";

/** The bot account's domain and password in the roster benchmarks (contacts live on b.test and c.test). */
export const HOST = "a.test";
export const PASSWORD = "bench-password";

export function rosterSize(fallback = 10_000): number {
  const raw = (process.env.ROSTER_SIZE ?? "").trim().toLowerCase();
  if (raw === "") return fallback;
  const n = raw.endsWith("k") ? Number(raw.slice(0, -1)) * 1_000 : Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`ROSTER_SIZE must be a positive number (e.g. 100k), not ${JSON.stringify(process.env.ROSTER_SIZE)}`);
  return n;
}

const SUBS = ["none", "to", "from", "both"] as const;
const GROUPS = ["Friends", "Work", "Family", "Ops", "Night shift", "Customers", "Partners", "Old"];

/** Contact i's JID (zero-padded so every JID of a size has the same length). */
export function seededJid(i: number, size: number): string {
  return `contact${String(i).padStart(String(size - 1).length, "0")}@${["b.test", "c.test"][i % 2]}`;
}

export function seedRoster(size: number): RosterSeedItem[] {
  return Array.from({ length: size }, (_, i) => ({
    jid: seededJid(i, size),
    ...(i % 3 !== 0 ? { name: `Contact number ${i}` } : {}),
    subscription: SUBS[i % 4],
    groups: i % 5 === 0 ? [] : [GROUPS[i % GROUPS.length]!, ...(i % 7 === 0 ? [GROUPS[(i + 3) % GROUPS.length]!] : [])],
  }));
}

/**
 * `count` roster changes made by another resource of the account while the bot is offline (adds,
 * renames, removals of earlier adds or of seeded contacts), so the roster keeps its size.
 */
export async function offlineChanges(o: { service: string; jid: string; password: string; size: number; round: number; count?: number }): Promise<void> {
  const phone = await TestClient.connect({ service: o.service, jid: o.jid, password: o.password, resource: "phone" });
  const count = o.count ?? 50;
  const adds = Math.floor(count * 0.3);
  const removals = adds;
  const updates = count - adds - removals;
  const { round, size } = o;
  try {
    for (let i = 0; i < adds; i++) await phone.rosterSet(`new-${round}-${i}@b.test`, { name: `New ${round}.${i}`, groups: ["Added"] });
    for (let i = 0; i < updates; i++) await phone.rosterSet(seededJid((round * 97 + i * 13) % (size - removals), size), { name: `Renamed ${round}.${i}`, groups: ["Updated"] });
    for (let i = 0; i < removals; i++) await phone.rosterSet(round > 0 ? `new-${round - 1}-${i}@b.test` : seededJid(size - 1 - i, size), { remove: true });
  } finally {
    await phone.stop();
  }
}
