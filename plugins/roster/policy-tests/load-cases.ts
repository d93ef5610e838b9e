/**
 * Reads policy test case files. Every problem (YAML, unknown keys, wrong types, invalid JIDs, a
 * missing file) is a ConfigIssue with file:line:column, and all of a file's problems come at once.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { zodIssues } from "../../../bots/config/load.ts";
import { ConfigSource, formatIssues, type ConfigIssue } from "../../../bots/config/source.ts";
import { PolicyCaseFileSchema, type PolicyCaseInput } from "./case-schema.ts";

/** A case as read, with where it is. */
export interface PolicyCase extends PolicyCaseInput {
  /** "policy.test.yaml:12:3": the file as shown, and the position of the case's first key. */
  at: string;
}

export class PolicyTestFileError extends Error {
  constructor(readonly issues: ConfigIssue[]) {
    super(formatIssues(issues));
    this.name = "PolicyTestFileError";
  }
}

/** The path to show for a file: relative to the working directory when it is under it. */
export function shownPath(file: string, cwd = process.cwd()): string {
  const absolute = path.resolve(cwd, file);
  const relative = path.relative(cwd, absolute);
  return relative && !relative.startsWith("..") && !path.isAbsolute(relative) ? relative : absolute;
}

/** Reads one case file (`file` absolute or relative to the working directory); throws PolicyTestFileError. */
export function loadCaseFile(file: string): PolicyCase[] {
  const shown = shownPath(file);
  let text: string;
  try {
    text = readFileSync(path.resolve(file), "utf8");
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === "ENOENT" ? "file not found" : (err as Error).message;
    throw new PolicyTestFileError([{ file: shown, line: 0, column: 0, path: [], message: `cannot read policy test cases: ${reason}` }]);
  }
  const source = new ConfigSource(shown, text);
  if (source.syntaxIssues.length) throw new PolicyTestFileError(source.syntaxIssues);
  let value: unknown;
  try {
    value = source.toJS();
  } catch (err) {
    throw new PolicyTestFileError([{ file: shown, line: 1, column: 1, path: [], message: `the YAML cannot be read: ${(err as Error).message}` }]);
  }
  // An empty file holds no cases.
  const parsed = PolicyCaseFileSchema.safeParse(value ?? []);
  if (!parsed.success) throw new PolicyTestFileError(zodIssues(source, parsed.error.issues).sort((a, b) => a.line - b.line || a.column - b.column));
  return parsed.data.map((c, i) => {
    const pos = source.issue([i], "");
    return { ...c, at: `${pos.file}:${pos.line}:${pos.column}` };
  });
}
