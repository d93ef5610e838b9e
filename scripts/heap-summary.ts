/**
 * Summarizes a V8 heap snapshot (.heapsnapshot, as written by --heapsnapshot-signal or
 * v8.writeHeapSnapshot): total self size per node type and constructor, largest first, plus the
 * largest single strings. Run: npx tsx scripts/heap-summary.ts FILE [TOP]
 */
import { readFileSync } from "node:fs";

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

export function summarize(file: string, top = 25): string {
  const snap = JSON.parse(readFileSync(file, "utf8")) as Snapshot;
  const fields = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0];
  const width = fields.length;
  const [typeAt, nameAt, sizeAt] = ["type", "name", "self_size"].map((f) => fields.indexOf(f)) as [number, number, number];
  const groups = new Map<string, { count: number; bytes: number }>();
  const bigStrings: { bytes: number; text: string }[] = [];
  let total = 0;
  for (let i = 0; i < snap.nodes.length; i += width) {
    const type = types[snap.nodes[i + typeAt]!]!;
    const name = snap.strings[snap.nodes[i + nameAt]!]!;
    const bytes = snap.nodes[i + sizeAt]!;
    total += bytes;
    const key = type === "object" || type === "closure" || type === "native" ? `${type} ${name}` : `(${type})`;
    const g = groups.get(key) ?? { count: 0, bytes: 0 };
    g.count++;
    g.bytes += bytes;
    groups.set(key, g);
    if (type === "string" || type === "concatenated string" || type === "sliced string") {
      if (bytes > 4096) bigStrings.push({ bytes, text: name.slice(0, 60) });
    }
  }
  const mb = (b: number) => (b / 1024 / 1024).toFixed(1).padStart(7);
  const lines = [`${file}: ${mb(total)} MB self size in ${(snap.nodes.length / width).toLocaleString("en-US")} nodes`];
  for (const [key, g] of [...groups].sort((a, b) => b[1].bytes - a[1].bytes).slice(0, top)) {
    lines.push(`${mb(g.bytes)} MB  ${String(g.count).padStart(9)}  ${key.slice(0, 80)}`);
  }
  bigStrings.sort((a, b) => b.bytes - a.bytes);
  if (bigStrings.length) lines.push(`strings over 4 kB: ${bigStrings.length}, ${mb(bigStrings.reduce((n, s) => n + s.bytes, 0))} MB; largest: ${JSON.stringify(bigStrings[0]!.text)}`);
  return lines.join("\n");
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [file, top] = process.argv.slice(2);
  if (!file) {
    console.error("usage: heap-summary FILE [TOP]");
    process.exit(2);
  }
  console.log(summarize(file, top ? Number(top) : undefined));
}
