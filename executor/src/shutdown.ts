/**
 * SIGTERM / SIGINT: 503 for new jobs at once; jobs not started stay `queued` for the next start;
 * running jobs get SHUTDOWN_GRACE_MS to finish, then their process trees are killed and they end
 * `interrupted` (one whose CLI had not started yet stays `queued` too);
 * callbacks get a short window, and whatever is still owed stays `pending` for the next start;
 * the store is closed (WAL checkpointed) and the process exits 0. The whole sequence stays inside
 * systemd's TimeoutStopSec (40 s) with the defaults: 20 s grace + 5 s kill grace + 2 s callbacks.
 */

import type { JobRunner } from "./jobs/runner.ts";
import type { JobStore } from "./jobs/store.ts";
import { log } from "./log.ts";
import type { JobQueue } from "./queue.ts";
import type { App } from "./server/app.ts";

/** How long owed callbacks may still be sent once no job runs any more. */
const CALLBACK_FLUSH_MS = 2_000;

export interface ShutdownParts {
  app: App;
  queue: JobQueue;
  runner: JobRunner;
  store: JobStore;
  /** Aborting it kills the running CLIs' trees (runProcess's signal). */
  jobs: AbortController;
  graceMs: number;
  callbackFlushMs?: number;
}

const within = <T>(p: Promise<T>, ms: number): Promise<boolean> =>
  new Promise((resolve) => {
    const t = setTimeout(() => resolve(false), ms);
    void p.then(() => {
      clearTimeout(t);
      resolve(true);
    });
  });

export async function shutdown(p: ShutdownParts): Promise<void> {
  const t0 = Date.now();
  p.app.startDraining();
  // Jobs not started stay `queued` in the store: the next start runs them (nothing of them ran).
  const drained = p.queue.drain();
  for (const id of drained) p.runner.putBack(id);
  log("info", "shutdown_draining", { running: p.queue.running, leftQueued: drained.length, graceMs: p.graceMs });
  if (!(await within(p.queue.idle(), p.graceMs))) {
    log("warn", "shutdown_killing_jobs", { running: p.queue.running });
    p.jobs.abort();
    await p.queue.idle();
  }
  await p.runner.callbacks.flush(Date.now() + (p.callbackFlushMs ?? CALLBACK_FLUSH_MS));
  await p.runner.settle();
  // Keep-alive sockets would hold close() open: close them now that no job is left to answer.
  const closed = new Promise<void>((r) => p.app.server.close(() => r()));
  p.app.server.closeAllConnections();
  await closed;
  p.store.close();
  log("info", "shutdown_done", { ms: Date.now() - t0 });
}

/** Runs `stop` once on the first SIGTERM or SIGINT, then exits (0 when it went well). */
export function exitOnSignals(stop: () => Promise<void>, exit: (code: number) => void = (c) => process.exit(c)): void {
  let stopping = false;
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    process.on(signal, () => {
      if (stopping) return log("info", "shutdown_in_progress", { signal });
      stopping = true;
      log("info", "shutdown", { signal });
      stop().then(
        () => exit(0),
        (err: unknown) => {
          log("error", "shutdown_failed", { error: err instanceof Error ? err.message : String(err) });
          exit(1);
        },
      );
    });
  }
}
