/** The journal file: one JSON line per decision, appended; read back newest last. */
import { appendFileSync, existsSync, readFileSync } from "node:fs";
import type { SubscriptionDecision } from "roster-bot";

export interface JournalEntry {
  time: string;
  jid: string;
  action: string;
  decidedBy: string;
  rule: string | null;
  note: string;
}

export function entryFor(decision: SubscriptionDecision, note: string, now = new Date()): JournalEntry {
  return { time: now.toISOString(), jid: decision.jid, action: decision.action, decidedBy: decision.decidedBy, rule: decision.rule ?? null, note };
}

export function append(file: string, entry: JournalEntry): void {
  appendFileSync(file, JSON.stringify(entry) + "\n");
}

/** The last `limit` entries; a line that is not a journal entry (a torn write) is skipped. */
export function readLast(file: string, limit: number): JournalEntry[] {
  if (!existsSync(file)) return [];
  const entries: JournalEntry[] = [];
  for (const line of readFileSync(file, "utf8").split("\n")) {
    if (!line.trim()) continue;
    try {
      const value = JSON.parse(line) as Partial<JournalEntry>;
      if (typeof value.jid === "string" && typeof value.action === "string" && typeof value.time === "string") entries.push(value as JournalEntry);
    } catch {
      // skipped
    }
  }
  return entries.slice(-limit);
}

export function formatEntries(entries: readonly JournalEntry[]): string {
  if (!entries.length) return "(the journal is empty)\n";
  return entries.map((e) => `${e.time}  ${e.jid}  ${e.action}  by ${e.rule ? `rule ${e.rule}` : e.decidedBy}${e.note ? `  ${e.note}` : ""}\n`).join("");
}
