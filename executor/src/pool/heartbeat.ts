/**
 * Joining a pool: with POOL_URL set, the executor tells the Worker every HEARTBEAT_MS that it is
 * alive and what it can do (POST <POOL_URL>/api/executors/heartbeat, signed with CALLBACK_SECRET like
 * a callback): its id, the URL the Worker reaches it at, its slots, running jobs, repos, which
 * profiles can run, its version, and whether it takes new jobs. The Worker's answer says whether an
 * operator drained it. An executor that stops heartbeating for longer than the Worker's lease gets no
 * new job, and its running jobs are dispatched again elsewhere.
 */
import { type Heartbeat, HeartbeatAnswer, SIGNATURE_HEADER, signBody } from "@vault-mcp/contract";
import { log } from "../log.ts";

export const HEARTBEAT_PATH = "/api/executors/heartbeat";

export interface HeartbeatOptions {
  poolUrl: string;
  secret: string;
  everyMs: number;
  /** Everything a heartbeat says but its clock, read fresh for each one. */
  describe: () => Promise<Omit<Heartbeat, "sentAt">>;
  /** The Worker's answer: whether an operator drained this executor. */
  onAnswer: (answer: HeartbeatAnswer) => void;
  fetch?: typeof fetch;
}

export interface Heartbeater {
  /** One heartbeat now (the loop's, or a last one at shutdown); never throws. */
  beat(): Promise<boolean>;
  stop(): void;
}

export function startHeartbeat(o: HeartbeatOptions): Heartbeater {
  const doFetch = o.fetch ?? fetch;
  const url = `${o.poolUrl.replace(/\/+$/, "")}${HEARTBEAT_PATH}`;
  let lastSentAt = 0;
  let failing = false;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;

  async function beat(): Promise<boolean> {
    try {
      // Strictly increasing: the Worker refuses a heartbeat that is not later than the last one.
      lastSentAt = Math.max(Date.now(), lastSentAt + 1);
      const body = JSON.stringify({ ...(await o.describe()), sentAt: lastSentAt } satisfies Heartbeat);
      const res = await doFetch(url, {
        method: "POST",
        headers: { "content-type": "application/json", [SIGNATURE_HEADER]: await signBody(o.secret, body) },
        body,
        // A busy Worker may take a while to answer; the next heartbeat waits for this one anyway.
        signal: AbortSignal.timeout(Math.max(2_000, Math.min(10_000, o.everyMs * 3))),
      });
      const text = await res.text();
      if (!res.ok) throw new Error(`HTTP ${res.status}: ${text.slice(0, 200)}`);
      const answer = HeartbeatAnswer.safeParse(JSON.parse(text));
      if (!answer.success) throw new Error("the Worker's answer is not a heartbeat answer (update the Worker)");
      if (failing) log("info", "heartbeat_restored", { poolUrl: o.poolUrl });
      failing = false;
      o.onAnswer(answer.data);
      return true;
    } catch (err) {
      // Said once when it starts failing, then quietly: the Worker's lease decides what it means.
      log(failing ? "debug" : "warn", "heartbeat_failed", {
        poolUrl: o.poolUrl,
        error: err instanceof Error ? err.message : String(err),
      });
      failing = true;
      return false;
    }
  }

  const loop = () => {
    if (stopped) return;
    void beat().finally(() => {
      if (!stopped) timer = setTimeout(loop, o.everyMs);
      timer?.unref();
    });
  };
  loop();
  return {
    beat,
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
