/** Temporary folders for tests, inside the repository (.tmp/, git-ignored) so that files written
 * there (plugins, configs) resolve `zod` and the bots/ sources like any file of the project. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const TMP_ROOT = path.join(REPO_ROOT, ".tmp");

export interface TempDir {
  readonly dir: string;
  /** Writes a file (relative to the folder; dedents nothing) and returns its absolute path. */
  write(name: string, text: string): string;
  remove(): void;
}

export function tempDir(prefix = "test-"): TempDir {
  mkdirSync(TMP_ROOT, { recursive: true });
  const dir = mkdtempSync(path.join(TMP_ROOT, prefix));
  return {
    dir,
    write(name, text) {
      const file = path.join(dir, name);
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(file, text);
      return file;
    },
    remove() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Joins lines with "\n", so YAML in tests can be written one line per string (positions are easy to read). */
export function lines(...ls: string[]): string {
  return ls.join("\n") + "\n";
}
