/**
 * Child process for the kill -9 test in bots/atomic-file.test.ts: replaces one file with 1 MB and
 * 2 MB JSON versions in turn, through the sync and the async writer in turn, until it is killed.
 * Prints each version number once its write has returned.
 */
import { writeFileAtomic, writeFileAtomicSync } from "../../bots/atomic-file.ts";

const file = process.argv[2];
if (!file) throw new Error("usage: atomic-write-child.ts <file>");

/** Version v: `pad` is v's last digit repeated, 1 MB for odd versions and 2 MB for even ones. */
function version(v: number): string {
  return JSON.stringify({ v, pad: String(v % 10).repeat(v % 2 ? 1 << 20 : 2 << 20) });
}

for (let v = 1; ; v++) {
  if (v % 2) writeFileAtomicSync(file, version(v));
  else await writeFileAtomic(file, version(v));
  process.stdout.write(`${v}\n`);
}
