import { describe, expect, it } from "vitest";
import { setLogSink } from "../../src/log.ts";
import { JobQueue } from "../../src/queue.ts";

/** A job that runs until released, recording the order jobs started in. */
function gate(started: string[]) {
  const releases = new Map<string, () => void>();
  const make = (id: string, slots = 1) => ({
    id,
    slots,
    run: () =>
      new Promise<void>((resolve) => {
        started.push(id);
        releases.set(id, resolve);
      }),
  });
  const release = async (id: string) => {
    releases.get(id)?.();
    await new Promise((r) => setImmediate(r));
  };
  return { make, release };
}

describe("JobQueue", () => {
  it("runs at most `capacity` at once, queues at most `maxQueue`, refuses the rest, FIFO", async () => {
    const started: string[] = [];
    const { make, release } = gate(started);
    const q = new JobQueue(2, 3);
    const admitted = ["a", "b", "c", "d", "e", "f", "g"].map((id) => q.submit(make(id)));
    expect(admitted).toEqual([true, true, true, true, true, false, false]);
    expect(started).toEqual(["a", "b"]);
    expect([q.running, q.queued]).toEqual([2, 3]);
    expect(q.hasRoom()).toBe(false);
    expect(q.retryAfterSeconds()).toBeGreaterThan(0);
    await release("b");
    expect(started).toEqual(["a", "b", "c"]);
    expect(q.hasRoom()).toBe(true);
    await release("a");
    await release("c");
    expect(started).toEqual(["a", "b", "c", "d", "e"]);
    expect([q.running, q.queued]).toEqual([2, 0]);
  });

  it("a two-slot job (consensus) waits for two free slots and keeps its place in line", async () => {
    const started: string[] = [];
    const { make, release } = gate(started);
    const q = new JobQueue(2, 8);
    q.submit(make("a"));
    q.submit(make("pair", 2));
    q.submit(make("b"));
    expect(started).toEqual(["a"]);
    expect(q.busySlots).toBe(1);
    await release("a");
    expect(started).toEqual(["a", "pair"]);
    expect(q.busySlots).toBe(2);
    await release("pair");
    expect(started).toEqual(["a", "pair", "b"]);
  });

  it("never asks for more slots than exist (a pair on a one-slot executor still runs)", async () => {
    const started: string[] = [];
    const { make, release } = gate(started);
    const q = new JobQueue(1, 1);
    q.submit(make("pair", 2));
    expect(started).toEqual(["pair"]);
    await release("pair");
    expect(q.running).toBe(0);
  });

  it("a job that throws frees its slot", async () => {
    const q = new JobQueue(1, 1);
    q.submit({ id: "x", slots: 1, run: () => Promise.reject(new Error("boom")) });
    await q.idle();
    expect(q.running).toBe(0);
  });

  it("drain() takes the jobs not started; idle() resolves once the running ones end", async () => {
    const started: string[] = [];
    const { make, release } = gate(started);
    const q = new JobQueue(1, 4);
    for (const id of ["a", "b", "c"]) q.submit(make(id));
    expect(q.drain()).toEqual(["b", "c"]);
    let idle = false;
    void q.idle().then(() => (idle = true));
    await new Promise((r) => setImmediate(r));
    expect(idle).toBe(false);
    await release("a");
    expect(idle).toBe(true);
    expect(started).toEqual(["a"]);
  });

  it("with MAX_QUEUE=0 a job is admitted only when a slot is free", async () => {
    const started: string[] = [];
    const { make } = gate(started);
    const q = new JobQueue(1, 0);
    expect(q.submit(make("a"))).toBe(true);
    expect(q.submit(make("b"))).toBe(false);
  });

  it("a run that rejects (the store refused its write) is logged with the job's id and frees its slot", async () => {
    const lines: string[] = [];
    setLogSink((l) => void lines.push(l));
    try {
      const q = new JobQueue(1, 1);
      q.submit({ id: "j-broken", slots: 1, run: () => Promise.reject(new Error("disk I/O error")) });
      await q.idle();
      expect(q.running).toBe(0);
      expect(lines.map((l) => JSON.parse(l) as Record<string, unknown>)).toMatchObject([
        { level: "error", event: "job_run_failed", jobId: "j-broken", error: "disk I/O error" },
      ]);
    } finally {
      setLogSink((l) => process.stdout.write(l));
    }
  });
});
