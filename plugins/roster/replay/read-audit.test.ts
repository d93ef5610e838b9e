/** The audit reader's line splitting: chunk boundaries, CRLF, an over-long line, no final newline. */
import { writeFileSync } from "node:fs";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { tempDir, type TempDir } from "../../../test/helpers/tmp.ts";
import { MAX_LINE_BYTES, readAudit, type AuditRecord } from "./read-audit.ts";

async function read(files: string[]): Promise<{ records: AuditRecord[]; lines: number; malformed: number }> {
  const counts = { lines: 0, malformed: 0 };
  const records: AuditRecord[] = [];
  await readAudit(files, counts, (r) => void records.push(r));
  return { records, ...counts };
}

describe("readAudit", () => {
  let tmp: TempDir;
  beforeEach(() => (tmp = tempDir("read-audit-")));
  afterEach(() => tmp.remove());

  it("keeps a multi-byte character whole where a read chunk ends, in plain and gzipped files", async () => {
    // A file stream reads 64 KiB at a time: pad so that "ü" (2 bytes) straddles byte 65,536.
    const named = JSON.stringify({ kind: "name", jid: "jürgen@bücher.example" });
    const empty = JSON.stringify({ kind: "pad", text: "" });
    const pad = "x".repeat(65_535 - empty.length - 1 - Buffer.from(named).indexOf("ü"));
    const lines = [JSON.stringify({ kind: "pad", text: pad }), named];
    const content = lines.join("\n") + "\n";
    expect(Buffer.from(content).indexOf("ü")).toBeLessThan(65_536);
    expect(Buffer.from(content).indexOf("ü") + 2).toBeGreaterThan(65_536);
    const plain = path.join(tmp.dir, "audit.log");
    const zipped = path.join(tmp.dir, "audit.log.1.gz");
    writeFileSync(plain, content);
    writeFileSync(zipped, gzipSync(content));
    for (const file of [plain, zipped]) {
      const { records, malformed } = await read([file]);
      expect(malformed).toBe(0);
      expect(records.map((r) => r.jid ?? r.kind)).toEqual(["pad", "jürgen@bücher.example"]);
    }
  });

  it("reads CRLF lines and a last line without a newline", async () => {
    const file = path.join(tmp.dir, "audit.log");
    writeFileSync(file, '{"kind":"a"}\r\n{"kind":"b"}\n\n{"kind":"c"}');
    const { records, lines, malformed } = await read([file]);
    expect(records.map((r) => r.kind)).toEqual(["a", "b", "c"]);
    expect({ lines, malformed }).toEqual({ lines: 3, malformed: 0 });
  });

  it("drops a line longer than MAX_LINE_BYTES as one malformed line, holding no more of it, and reads on", async () => {
    const file = path.join(tmp.dir, "audit.log");
    const huge = '{"kind":"huge","x":"' + "y".repeat(MAX_LINE_BYTES * 2) + '"}';
    writeFileSync(file, ['{"kind":"before"}', huge, '{"kind":"after"}'].join("\n") + "\n");
    const { records, lines, malformed } = await read([file]);
    expect(records.map((r) => r.kind)).toEqual(["before", "after"]);
    expect({ lines, malformed }).toEqual({ lines: 3, malformed: 1 });
  });
});
