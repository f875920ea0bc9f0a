/**
 * Owed callbacks: the job's JobView is POSTed to its callbackUrl until the Worker acknowledges it or
 * says the task no longer wants it (callback.ts). One delivery per job at a time, none holding a
 * queue slot; a delivery a shutdown stops stays `pending` in the store, and the next start resends it.
 */
import { type CallbackOptions, sendCallback } from "../callback.ts";
import { log } from "../log.ts";
import { type JobStore, toView } from "./store.ts";

export class CallbackDeliveries {
  readonly #store: JobStore;
  readonly #secret: string;
  readonly #options: Omit<CallbackOptions, "signal">;
  readonly #inFlight = new Map<string, Promise<void>>();
  readonly #stop = new AbortController();

  constructor(o: { store: JobStore; secret: string; options?: Omit<CallbackOptions, "signal"> }) {
    this.#store = o.store;
    this.#secret = o.secret;
    this.#options = o.options ?? {};
  }

  /**
   * Starts delivering the job's callback if one is owed (after a job, and at start-up for callbacks
   * owed from before a restart); a delivery already under way for it is left to go on.
   */
  deliver(jobId: string): void {
    const rec = this.#store.get(jobId);
    if (!rec?.request.callbackUrl || rec.callbackState !== "pending" || this.#inFlight.has(jobId)) return;
    const url = rec.request.callbackUrl;
    const p = (async () => {
      const sent = await sendCallback(url, this.#secret, toView(rec), { ...this.#options, signal: this.#stop.signal });
      if (!sent.ok && sent.reason === "stopped") {
        // Still `pending` in the store: the next start sends it.
        this.#store.callbackAttempted(jobId, sent.attempts);
        return;
      }
      this.#store.callbackDone(jobId, sent.ok ? "sent" : "unwanted", sent.attempts);
      if (sent.ok) log("info", "callback_sent", { jobId, attempts: sent.attempts });
    })()
      // Nobody awaits a delivery, so this is its last handler; a callback not marked sent stays owed
      // in the store and is sent again at the next start.
      .catch((err: unknown) =>
        log("error", "callback_crashed", { jobId, error: err instanceof Error ? err.message : String(err) }),
      )
      .finally(() => this.#inFlight.delete(jobId));
    this.#inFlight.set(jobId, p);
  }

  /** Shutdown: lets deliveries in flight finish until `deadline` (epoch ms), then stops them (they stay owed). */
  async flush(deadline: number): Promise<void> {
    const all = Promise.all([...this.#inFlight.values()]);
    const wait = Math.max(0, deadline - Date.now());
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([all, new Promise<void>((r) => (timer = setTimeout(r, wait)))]);
    clearTimeout(timer);
    this.#stop.abort();
    await all;
  }
}
