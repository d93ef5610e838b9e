/** Heap compaction after large loads: coalesced requests, and flags switched back off. */
import vm from "node:vm";
import { afterEach, describe, expect, it, vi } from "vitest";
import { compactHeapNow, HeapCompactor } from "./heap.ts";

afterEach(() => {
  vi.useRealTimers();
});

describe("compactHeapNow", () => {
  it("runs a collection that frees garbage, and leaves no gc behind in new contexts", () => {
    const holder: { junk?: unknown[] } = { junk: Array.from({ length: 200_000 }, (_, i) => ({ i, s: `junk ${i}` })) };
    const before = process.memoryUsage().heapUsed;
    delete holder.junk;
    const ms = compactHeapNow();
    expect(ms).toBeTypeOf("number");
    expect(process.memoryUsage().heapUsed).toBeLessThan(before);
    expect(vm.runInNewContext("typeof gc")).toBe("undefined");
    expect((globalThis as { gc?: unknown }).gc).toBeUndefined();
  });
});

describe("HeapCompactor", () => {
  it("coalesces requests into one compaction after the last one", () => {
    vi.useFakeTimers();
    const compact = vi.fn();
    const compactor = new HeapCompactor(1_000, compact);
    compactor.request();
    vi.advanceTimersByTime(600);
    compactor.request(); // a second bot loaded: wait again
    vi.advanceTimersByTime(600);
    expect(compact).not.toHaveBeenCalled();
    vi.advanceTimersByTime(400);
    expect(compact).toHaveBeenCalledTimes(1);
    compactor.request();
    vi.advanceTimersByTime(1_000);
    expect(compact).toHaveBeenCalledTimes(2);
  });
});
