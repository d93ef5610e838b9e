import { describe, expect, it } from "vitest";
import { Limiter } from "./limiter.ts";

const tick = () => new Promise((r) => setImmediate(r));

function deferred(): { promise: Promise<void>; resolve: () => void; reject: (err: Error) => void } {
  let resolve!: () => void;
  let reject!: (err: Error) => void;
  const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

describe("Limiter", () => {
  it("runs at most max tasks at once, the rest in the order they came", async () => {
    const limiter = new Limiter(2);
    const gates = Array.from({ length: 5 }, deferred);
    const started: number[] = [];
    const runs = gates.map((g, i) => limiter.run(async () => (started.push(i), await g.promise, i)));
    await tick();
    expect(started).toEqual([0, 1]);
    expect(limiter.load).toEqual({ active: 2, waiting: 3 });
    gates[1]!.resolve();
    await tick();
    expect(started).toEqual([0, 1, 2]);
    for (const g of gates) g.resolve();
    expect(await Promise.all(runs)).toEqual([0, 1, 2, 3, 4]);
    expect(limiter.load).toEqual({ active: 0, waiting: 0 });
  });

  it("frees the slot of a task that fails", async () => {
    const limiter = new Limiter(1);
    const failing = limiter.run(() => Promise.reject(new Error("no")));
    const next = limiter.run(() => Promise.resolve("ran"));
    await expect(failing).rejects.toThrow("no");
    expect(await next).toBe("ran");
    expect(limiter.load).toEqual({ active: 0, waiting: 0 });
  });

  it("hands a freed slot to a waiter before a newcomer", async () => {
    const limiter = new Limiter(1);
    const first = deferred();
    const order: string[] = [];
    const a = limiter.run(() => first.promise);
    const b = limiter.run(async () => void order.push("waiter"));
    first.resolve();
    await a;
    const c = limiter.run(async () => void order.push("newcomer"));
    await Promise.all([b, c]);
    expect(order).toEqual(["waiter", "newcomer"]);
  });
});
