/**
 * The wait for one attempt's result: `wait <profile> #<n>.<k>` (a bounded wait for the callback's
 * event) then, when no valid callback came, `poll <profile> #<n>.<k>` (one GET of the job), for k = 1…
 * periods. A callback the executor could not deliver, or a timer the engine lost in a restart, costs
 * at most one period; the whole wait is bounded by the job timeout (step-config.ts `resultWait`).
 *
 * Replay safety: the loop branches only on stored event payloads and step results, and k only counts,
 * so every replay walks the same names.
 */
import type { WorkflowStep } from "cloudflare:workers";
import type { ProfileName } from "@vault-mcp/contract";
import { type AttemptFailure, type ExecutorClient, type ExecutorFailure, executorStep } from "./executor-client.ts";
import { resultEventType } from "./params.ts";
import { finishedJobFromEvent } from "./result-event.ts";
import { POLL_STEP, resultWait, seconds } from "./step-config.ts";
import { pollJob } from "./steps/poll.ts";
import { waitFor } from "./wait.ts";

/** A poll that failed this way may succeed later (the executor restarting, busy): wait on. */
const PASSING: ReadonlySet<ExecutorFailure> = new Set(["unreachable", "busy", "server"]);

export interface ResultWaitInput {
  client: ExecutorClient;
  profile: ProfileName;
  attempt: number;
  jobId: string;
  jobTimeoutMs: number;
}

/** `{ ok: true }` once the job has finished; otherwise why its result cannot be read now. */
export async function awaitResult(
  step: Pick<WorkflowStep, "do" | "waitForEvent">,
  w: ResultWaitInput,
): Promise<{ ok: true } | AttemptFailure> {
  const { periodMs, periods } = resultWait(w.jobTimeoutMs);
  const name = `${w.profile} #${w.attempt}`;
  let last: AttemptFailure | null = null;
  for (let k = 1; k <= periods; k++) {
    const event = await waitFor(step, `wait ${name}.${k}`, resultEventType(w.attempt), seconds(periodMs));
    if (finishedJobFromEvent(event, w.jobId) !== null) return { ok: true };
    const polled = await step.do(`poll ${name}.${k}`, POLL_STEP, (ctx) =>
      executorStep(ctx, () => pollJob(w.client, w.jobId)),
    );
    if (polled.ok) {
      if (polled.value.finished) return { ok: true };
      last = null;
      continue;
    }
    // Refused, unknown job, off-contract answer: waiting longer cannot make it readable.
    if (!PASSING.has(polled.kind)) return polled;
    last = polled;
  }
  const minutes = Math.round((periods * periodMs) / 60_000);
  return {
    ok: false,
    kind: last?.kind ?? "running",
    message: last
      ? `no answer from the executor at the end of a ${minutes}-minute wait (${last.message})`
      : `job ${w.jobId} was still running after a ${minutes}-minute wait`,
  };
}
