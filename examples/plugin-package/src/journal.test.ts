import assert from "node:assert/strict";
import { mkdtempSync, rmSync, appendFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import plugin from "./index.js";
import { append, entryFor, formatEntries, readLast } from "./journal.js";

test("entries are appended and the last N read back, torn lines skipped", () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), "journal-"));
  try {
    const file = path.join(dir, "journal.jsonl");
    assert.deepEqual(readLast(file, 5), []);
    const at = new Date("2026-01-02T03:04:05Z");
    for (const jid of ["a@x.test", "b@x.test", "c@x.test"]) {
      append(file, entryFor({ jid, action: "accept", decidedBy: "rules", rule: "partners", reason: "", sent: ["subscribed"] }, "n", at));
    }
    appendFileSync(file, '{"jid": "torn\n');
    assert.deepEqual(readLast(file, 2).map((e) => e.jid), ["b@x.test", "c@x.test"]);
    assert.equal(formatEntries(readLast(file, 1)), "2026-01-02T03:04:05.000Z  c@x.test  accept  by rule partners  n\n");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("the plugin validates its config with the host's zod and declares its command", () => {
  assert.equal(plugin.name, "journal");
  assert.deepEqual(plugin.dependencies, ["roster"]);
  assert.deepEqual(plugin.config?.parse({}), { note: "" });
  assert.equal(plugin.config?.safeParse({ colour: "red" }).success, false);
  assert.deepEqual(plugin.commands?.map((c) => c.name), ["journal"]);
});
