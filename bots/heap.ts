/**
 * Gives memory back after a one-off large allocation. Parsing a 100,000-item roster result builds
 * about 70 MB of XML elements that live for seconds, long enough for V8 to move them into its old
 * generation. V8 collects that only when it fills up again, which a bot idle after login never
 * does, and even then keeps the pages the surviving items are scattered over: the process would
 * hold twice the memory its roster needs for as long as it runs. One compacting collection shortly
 * after the last large load returns it (about 100 ms at 100,000 contacts, measured in
 * bench/roster-memory.ts).
 *
 * V8 offers that only behind flags, so they are switched on for the one call and back off:
 * `--expose-gc` for a private context that hands out `gc` (as jest's leak detector does), and
 * `--compact-on-every-full-gc` so the collection moves the survivors together.
 */
import v8 from "node:v8";
import vm from "node:vm";

type Collect = () => void;

let collector: Collect | null | undefined;

function compactingCollect(): Collect | null {
  if (collector !== undefined) return collector;
  const existing = (globalThis as { gc?: Collect }).gc;
  try {
    let gc = existing;
    if (!gc) {
      v8.setFlagsFromString("--expose-gc");
      gc = vm.runInNewContext("gc") as Collect;
      v8.setFlagsFromString("--no-expose-gc");
    }
    const full = gc;
    collector = () => {
      v8.setFlagsFromString("--compact-on-every-full-gc");
      try {
        full();
      } finally {
        v8.setFlagsFromString("--no-compact-on-every-full-gc");
      }
    };
  } catch {
    collector = null; // a runtime without these flags: memory is simply given back later
  }
  return collector;
}

/** Compacts the heap now; returns how long it took in ms, or undefined when the runtime cannot. */
export function compactHeapNow(): number | undefined {
  const collect = compactingCollect();
  if (!collect) return undefined;
  const t0 = performance.now();
  collect();
  return performance.now() - t0;
}

/** Coalesces requests: one compaction `delayMs` after the last one (many bots loading at once make one). */
export class HeapCompactor {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly delayMs = 1_000,
    private readonly compact: () => unknown = compactHeapNow,
  ) {}

  request(): void {
    if (this.timer) {
      this.timer.refresh();
      return;
    }
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.compact();
    }, this.delayMs);
    this.timer.unref(); // never what keeps a stopping process alive
  }
}

/** The process's compactor: the roster plugin asks it after loading a large roster. */
export const heapCompactor = new HeapCompactor();
