/**
 * Reads audit files a line at a time (a year of lines is never held in memory): plain files and the
 * `.gz` rotations logrotate's `compress` leaves, oldest first. A line that is not a JSON object with
 * a string `kind` is counted as malformed and skipped, never fatal (a crash can leave a half line).
 */
import { createReadStream, existsSync } from "node:fs";
import { createGunzip } from "node:zlib";
import type { Readable } from "node:stream";

/** A parsed audit line: any JSON object with a string `kind`. */
export type AuditRecord = { kind: string } & Record<string, unknown>;

export interface ReadCounts {
  /** Non-blank lines read. */
  lines: number;
  malformed: number;
}

/** The highest rotation number looked for (logrotate's `rotate 12` keeps 12; a year of weekly ones is 52). */
const MAX_ROTATION = 1000;

/**
 * The audit log and the logrotate rotations beside it that exist (`audit.log.1`, `audit.log.2.gz`,
 * …), oldest (highest number) first, the live log last (when it exists). Numbering stops at the
 * first number with neither file, as logrotate numbers without gaps.
 */
export function auditFilesOf(auditLog: string): string[] {
  const rotations: string[] = [];
  for (let n = 1; n <= MAX_ROTATION; n++) {
    const plain = `${auditLog}.${n}`;
    const zipped = `${plain}.gz`;
    if (existsSync(plain)) rotations.push(plain);
    else if (existsSync(zipped)) rotations.push(zipped);
    else break;
  }
  rotations.reverse();
  if (existsSync(auditLog)) rotations.push(auditLog);
  return rotations;
}

/** The file's text, gunzipped when its name ends in `.gz`; a read or gunzip error names the file. */
function openText(file: string): Readable {
  const raw = createReadStream(file);
  if (!file.endsWith(".gz")) return raw;
  const gunzip = createGunzip();
  raw.on("error", (err) => gunzip.destroy(err));
  raw.pipe(gunzip);
  return gunzip;
}

/** Calls `onRecord` for each audit line of `files`, in order, counting lines and malformed ones in `counts`. */
export async function readAudit(files: readonly string[], counts: ReadCounts, onRecord: (record: AuditRecord) => void): Promise<void> {
  for (const file of files) {
    try {
      await readLines(file, (text) => {
        if (text === undefined) {
          counts.lines++;
          counts.malformed++;
          return;
        }
        if (text.length === 0 || (text.charCodeAt(0) <= 0x20 && text.trim().length === 0)) return; // blank
        counts.lines++;
        const record = parseRecord(text);
        if (record === undefined) counts.malformed++;
        else onRecord(record);
      });
    } catch (err) {
      throw new Error(`${file}: ${(err as Error).message}`, { cause: err });
    }
  }
}

/** A line longer than this is not an audit line: its bytes are dropped and it counts as one malformed line. */
export const MAX_LINE_BYTES = 1 << 20;

/**
 * Calls `onLine` for each line of the file (a line too long for an audit line as `undefined`).
 * Splits the bytes at "\n" itself and decodes each line alone: half the cost of node:readline, which
 * decodes the whole chunk and splits it with a regular expression (and its async iterator costs a
 * promise per line). A line cut across chunks is carried over as bytes, so no UTF-8 sequence is split.
 */
async function readLines(file: string, onLine: (text: string | undefined) => void): Promise<void> {
  let carried: Buffer | undefined;
  let skipping = false; // inside a line longer than MAX_LINE_BYTES, until its end
  for await (const chunk of openText(file) as AsyncIterable<Buffer>) {
    const bytes = carried ? Buffer.concat([carried, chunk]) : chunk;
    carried = undefined;
    let start = 0;
    for (let nl = bytes.indexOf(10); nl !== -1; nl = bytes.indexOf(10, start)) {
      if (skipping) skipping = false;
      else onLine(bytes.toString("utf8", start, nl > start && bytes[nl - 1] === 13 ? nl - 1 : nl));
      start = nl + 1;
    }
    if (start === bytes.length || skipping) continue;
    if (bytes.length - start > MAX_LINE_BYTES) {
      onLine(undefined);
      skipping = true;
    } else {
      carried = bytes.subarray(start);
    }
  }
  if (carried) onLine(carried.toString("utf8"));
}

function parseRecord(text: string): AuditRecord | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined;
  return typeof (value as { kind?: unknown }).kind === "string" ? (value as AuditRecord) : undefined;
}
