import { mkdirSync, mkdtempSync, rmSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DEFAULT_FILE_MODE, folderModeFor, formatMode, makeFolder, setFileMode } from "./file-mode.ts";

let dir: string;
beforeEach(() => (dir = mkdtempSync(path.join(os.tmpdir(), "roster-bot-mode-"))));
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("file modes", () => {
  it("a folder may be entered by whoever may read its files", () => {
    expect(formatMode(folderModeFor(0o600))).toBe("0700");
    expect(formatMode(folderModeFor(0o640))).toBe("0750");
    expect(formatMode(folderModeFor(0o644))).toBe("0755");
    expect(formatMode(folderModeFor(0o660))).toBe("0770");
  });

  it("makeFolder gives every folder it creates the mode exactly, whatever the umask, and leaves an existing one alone", () => {
    mkdirSync(path.join(dir, "kept"), { mode: 0o755 });
    const old = process.umask(0o077);
    try {
      makeFolder(path.join(dir, "kept", "private"));
      setFileMode(0o640);
      makeFolder(path.join(dir, "kept", "a", "b"));
    } finally {
      setFileMode(DEFAULT_FILE_MODE);
      process.umask(old);
    }
    expect(statSync(path.join(dir, "kept")).mode & 0o777).toBe(0o755);
    expect(statSync(path.join(dir, "kept", "private")).mode & 0o777).toBe(0o700);
    expect(statSync(path.join(dir, "kept", "a")).mode & 0o777).toBe(0o750);
    expect(statSync(path.join(dir, "kept", "a", "b")).mode & 0o777).toBe(0o750);
    expect(() => makeFolder(path.join(dir, "kept", "a", "b"))).not.toThrow();
  });
});
