/**
 * At most `capacity` CLI slots busy at once, a bounded FIFO wait queue behind them. A job takes one
 * slot per CLI it runs (consensus: two). Admission is decided synchronously, so the caller can
 * answer 429 before storing anything.
 */
import { log } from "./log.ts";

export interface QueuedJob {
  id: string;
  slots: number;
  run: () => Promise<void>;
}

export class JobQueue {
  private readonly waiting: QueuedJob[] = [];
  private busy = 0;
  private runningJobs = 0;
  private idleWaiters: (() => void)[] = [];

  readonly capacity: number;
  readonly maxQueue: number;

  constructor(capacity: number, maxQueue: number) {
    this.capacity = capacity;
    this.maxQueue = maxQueue;
  }

  get running(): number {
    return this.runningJobs;
  }
  get busySlots(): number {
    return this.busy;
  }
  get queued(): number {
    return this.waiting.length;
  }

  /** Would a new job be admitted (run now or wait in the queue)? */
  hasRoom(): boolean {
    return this.waiting.length < this.maxQueue || (this.waiting.length === 0 && this.busy < this.capacity);
  }

  /** Seconds a refused caller should wait: one job's share of the default timeout is a fair guess. */
  retryAfterSeconds(): number {
    return 5 * Math.max(1, Math.ceil((this.waiting.length + 1) / this.capacity));
  }

  /** Returns false (and queues nothing) when full. */
  submit(job: QueuedJob): boolean {
    if (!this.hasRoom()) return false;
    this.waiting.push({ ...job, slots: Math.min(job.slots, this.capacity) });
    this.pump();
    return true;
  }

  /**
   * A job that never started, back after a restart: queued whatever the room (it was admitted
   * before, and its caller waits for it), behind those already requeued.
   */
  requeue(job: QueuedJob): void {
    this.waiting.push({ ...job, slots: Math.min(job.slots, this.capacity) });
    this.pump();
  }

  private pump(): void {
    for (;;) {
      const head = this.waiting[0];
      if (!head || this.busy + head.slots > this.capacity) return;
      this.waiting.shift();
      this.busy += head.slots;
      this.runningJobs += 1;
      void head
        .run()
        // The runner records a job's own failures; what reaches here is the store refusing the
        // write (a full or broken disk). Nobody awaits a queued run, so this is its last handler.
        .catch((err: unknown) =>
          log("error", "job_run_failed", { jobId: head.id, error: err instanceof Error ? err.message : String(err) }),
        )
        .finally(() => {
          this.busy -= head.slots;
          this.runningJobs -= 1;
          this.pump();
          if (this.busy === 0 && this.waiting.length === 0) for (const w of this.idleWaiters.splice(0)) w();
        });
    }
  }

  /** Drops jobs that have not started (shutdown; they stay `queued` in the store); returns their ids. */
  drain(): string[] {
    return this.waiting.splice(0).map((j) => j.id);
  }

  idle(): Promise<void> {
    return this.busy === 0 && this.waiting.length === 0
      ? Promise.resolve()
      : new Promise((r) => this.idleWaiters.push(r));
  }
}
