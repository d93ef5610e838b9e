/**
 * Reads a YAML config file and keeps what is needed to point at any value in it:
 * every error the config loader reports names file, line and column.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from "yaml";

export type ConfigPath = (string | number)[];

export interface ConfigIssue {
  file: string;
  line: number;
  column: number;
  path: ConfigPath;
  message: string;
}

export class ConfigError extends Error {
  constructor(readonly issues: ConfigIssue[]) {
    super(formatIssues(issues));
    this.name = "ConfigError";
  }
}

export function formatPath(p: ConfigPath): string {
  return p.reduce<string>((acc, seg) => (typeof seg === "number" ? `${acc}[${seg}]` : acc ? `${acc}.${seg}` : seg), "");
}

export function formatIssues(issues: ConfigIssue[]): string {
  return issues
    .map((i) => `${i.file}:${i.line}:${i.column}: ${i.path.length ? formatPath(i.path) + ": " : ""}${i.message}`)
    .join("\n");
}

/**
 * Deepest flow nesting (`[` / `{`) parsed. Far deeper than any config; the yaml parser recurses per
 * level, and a document nested thousands deep makes it overflow the stack (and, parsed again in the
 * same process, as a hot reload does, can crash V8 outright).
 */
export const MAX_FLOW_NESTING = 200;

/** Offset of the first bracket deeper than `max` (quotes and comments not told apart), or -1. */
function tooDeep(text: string, max: number): number {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return i;
    } else if ((c === 0x5d || c === 0x7d) && depth > 0) {
      depth--;
    }
  }
  return -1;
}

export class ConfigSource {
  readonly dir: string;
  private readonly lines = new LineCounter();
  readonly doc: Document;
  readonly syntaxIssues: ConfigIssue[] = [];

  constructor(
    readonly file: string,
    readonly text: string,
  ) {
    this.dir = path.dirname(path.resolve(file));
    const deep = tooDeep(text, MAX_FLOW_NESTING);
    if (deep !== -1) {
      this.doc = parseDocument("", { lineCounter: this.lines });
      for (let i = text.indexOf("\n"); i !== -1 && i < deep; i = text.indexOf("\n", i + 1)) this.lines.addNewLine(i + 1);
      const pos = this.lines.linePos(deep);
      this.syntaxIssues.push({ file, line: pos.line, column: pos.col, path: [], message: `nested more than ${MAX_FLOW_NESTING} levels deep; not read` });
      return;
    }
    this.doc = parseDocument(text, { lineCounter: this.lines, uniqueKeys: true, prettyErrors: false });
    for (const err of [...this.doc.errors, ...this.doc.warnings]) {
      const pos = this.lines.linePos(err.pos[0]);
      this.syntaxIssues.push({ file, line: pos.line, column: pos.col, path: [], message: err.message.split("\n")[0]! });
    }
  }

  static read(file: string): ConfigSource {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (err) {
      const reason = (err as NodeJS.ErrnoException).code === "ENOENT" ? "file not found" : (err as Error).message;
      throw new ConfigError([{ file, line: 0, column: 0, path: [], message: `cannot read config: ${reason}` }]);
    }
    return new ConfigSource(file, text);
  }

  toJS(): unknown {
    return this.doc.toJS({ maxAliasCount: 100 });
  }

  /**
   * An issue at `p`. When the path leads to a key that is absent, the deepest node that exists is
   * used; `atKey` points at the key itself rather than its value (for unknown keys).
   */
  issue(p: ConfigPath, message: string, atKey = false): ConfigIssue {
    const offset = this.offsetOf(p, atKey);
    const pos = offset === undefined ? { line: 1, col: 1 } : this.lines.linePos(offset);
    return { file: this.file, line: pos.line, column: pos.col, path: p, message };
  }

  private offsetOf(p: ConfigPath, atKey: boolean): number | undefined {
    let node: Node | null | undefined = this.doc.contents;
    let offset = node?.range?.[0];
    for (let i = 0; i < p.length; i++) {
      const seg = p[i];
      const last = i === p.length - 1;
      if (isMap(node)) {
        const pair = node.items.find((it) => isScalar(it.key) && String(it.key.value) === String(seg));
        if (!pair) break;
        const key = pair.key as Node;
        if (last && atKey) return key.range?.[0];
        node = pair.value as Node | null;
        // A key with no value (`name:`) has no node: point at the key.
        offset = node?.range?.[0] ?? key.range?.[0];
      } else if (isSeq(node) && typeof seg === "number") {
        const item = node.items[seg] as Node | undefined;
        if (!item) break;
        node = item;
        offset = item.range?.[0];
      } else {
        break;
      }
    }
    return offset;
  }
}
