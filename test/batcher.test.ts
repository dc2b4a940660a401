// The one batcher under the library's serving pipeline and the service's worker pool (src/serving/batcher.ts).
import { describe, expect, it } from "vitest";
import { Batcher, DeadlineError, QueueFullError, type Batch } from "../src/serving/batcher.js";

const later = (ms: number): number => performance.now() + ms;
const tick = (ms = 0): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe("Batcher", () => {
  it("continuous: a ready consumer takes the oldest entry and every later entry of its key that fits", async () => {
    const taken: Array<Batch<string, string>> = [];
    const b: Batcher<string, string> = new Batcher({ maxQueue: 100, maxBatch: 3, onReady: () => {} });
    const ps = ["a1", "b1", "a2", "a3", "a4", "b2"].map((x) => b.submit(x, x[0], 1, later(10_000)));
    expect(b.stats()).toMatchObject({ queuedUnits: 6, queuedEntries: 6, runningEntries: 0 });
    for (let t = b.take(); t; t = b.take()) taken.push(t);
    expect(taken.map((t) => t.entries.map((e) => e.item))).toEqual([["a1", "a2", "a3"], ["b1", "b2"], ["a4"]]);
    for (const t of taken) for (const e of t.entries) e.resolve(`${e.item}!`);
    expect(await Promise.all(ps)).toEqual(["a1!", "b1!", "a2!", "a3!", "a4!", "b2!"]);
    expect(b.stats()).toMatchObject({ queuedUnits: 0, runningEntries: 0, batches: 3, batchedUnits: 6 });
    await b.drained();
  });

  it("waiting: a key is ready once maxBatch units wait, everything after maxWaitMs or flush()", async () => {
    let ready = 0;
    const b: Batcher<number, number> = new Batcher({
      maxQueue: 100,
      maxBatch: 2,
      maxWaitMs: 30,
      onReady: () => {
        ready++;
      },
    });
    void b.submit(1, "x", 1, later(10_000));
    expect([ready, b.take()]).toEqual([0, null]);
    void b.submit(2, "y", 1, later(10_000));
    void b.submit(3, "x", 1, later(10_000)); // x is full
    expect(ready).toBe(1);
    expect(b.take()!.entries.map((e) => e.item)).toEqual([1, 3]);
    expect(b.take()).toBeNull(); // y waits for company
    await tick(60);
    expect(ready).toBe(2);
    expect(b.take()!.entries.map((e) => e.item)).toEqual([2]);
  });

  it("refuses past maxQueue (QueueFullError with a retry hint), unless a consumer could start it now", async () => {
    let idle = false;
    const b: Batcher<number, number> = new Batcher({
      maxQueue: 2,
      maxBatch: 8,
      onReady: () => {},
      canStartNow: () => idle,
      retryAfterSeconds: (q) => q * 10,
    });
    void b.submit(1, "k", 2, later(10_000));
    const refused = await b.submit(2, "k", 1, later(10_000)).catch((e) => e);
    expect(refused).toBeInstanceOf(QueueFullError);
    expect([refused.code, refused.retryAfterSeconds, refused.message]).toEqual([
      "busy",
      20,
      "the queue is full (2 inputs waiting, limit 2); retry later",
    ]);
    b.take()!.entries[0].resolve(0);
    idle = true;
    const big = b.submit(3, "k", 5, later(10_000)); // larger than the queue, and runs at once
    const t = b.take()!;
    expect(t.size).toBe(5);
    t.entries[0].resolve(3);
    expect(await big).toBe(3);
    expect(b.stats().rejectedQueueFull).toBe(1);
  });

  it(
    "deadlines: a queued entry is dropped unrun; a running one is answered, and a batch nobody waits for is " +
      "abandoned",
    async () => {
      const abandoned: Array<Batch<string, string>> = [];
      const b: Batcher<string, string> = new Batcher({
        maxQueue: 10,
        maxBatch: 2,
        onReady: () => {},
        onAbandoned: (x) => abandoned.push(x),
      });
      const queued = b.submit("q", "k1", 1, later(5)).catch((e) => e);
      const r1 = b.submit("r1", "k2", 1, later(5)).catch((e) => e);
      const r2 = b.submit("r2", "k2", 1, later(5000)).catch((e) => e);
      const running = b.take(); // k1 (oldest)
      expect(running!.entries.map((e) => e.item)).toEqual(["q"]);
      const two = b.take()!;
      expect(two.entries.map((e) => e.item)).toEqual(["r1", "r2"]);
      const q = await queued,
        first = await r1;
      expect(q).toBeInstanceOf(DeadlineError);
      expect(first.message).toMatch(/ran past its deadline/);
      expect(abandoned.map((x) => x.key)).toEqual(["k1"]); // k2 still has r2 waiting for its answer
      two.entries[1].resolve("ok");
      two.entries[0].resolve("too late"); // settles nothing
      expect(await r2).toBe("ok");
      const dropped = b.submit("d", "k3", 1, later(5)).catch((e) => e);
      await tick(20);
      expect((await dropped).message).toMatch(/waited past its deadline in the queue/);
      expect(b.take()).toBeNull();
      expect(b.stats()).toMatchObject({ timedOut: 3, queuedEntries: 0, runningEntries: 0 });
    },
  );

  it("40,000 entries over 4,000 keys queue and drain without scanning the queue", async () => {
    const b: Batcher<number, number> = new Batcher({ maxQueue: 1e6, maxBatch: 16, onReady: () => {} });
    for (let i = 0; i < 40_000; i++) void b.submit(i, String(i % 4000), 1, later(60_000)).catch(() => {});
    let batches = 0;
    for (let t = b.take(); t; t = b.take()) {
      batches++;
      for (const e of t.entries) e.resolve(e.item);
    }
    expect(batches).toBe(4000);
    await b.drained();
  });
});
