/** The instance's waits for an event: a timeout is an answer ("none came"), any other failure is not. */
import type { WorkflowSleepDuration, WorkflowStep } from "cloudflare:workers";
import { describe } from "../core/errors.ts";
import { log } from "../core/log.ts";

/**
 * The engine rejects a wait whose timeout passed with a `WorkflowTimeoutError` (workers-sdk
 * `workflows-shared/src/lib/errors.ts`; `forceEventTimeout` in tests takes the same path). Across the
 * RPC boundary to the instance its class is lost and its name may be `Error`, so the name is also
 * looked for at the start of the message ("WorkflowTimeoutError: Execution timed out after …").
 */
export function isWaitTimeout(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  return err.name === "WorkflowTimeoutError" || /^WorkflowTimeoutError\b/.test(err.message);
}

/**
 * The event's payload, or null when the wait timed out: each caller has a safe path for "no event".
 * Any other rejection (the engine paused or failed) is logged and thrown, so the instance errors
 * instead of acting as if nobody answered.
 */
export async function waitFor(
  step: Pick<WorkflowStep, "waitForEvent">,
  name: string,
  type: string,
  timeout: WorkflowSleepDuration,
): Promise<unknown> {
  try {
    return (await step.waitForEvent(name, { type, timeout })).payload;
  } catch (err) {
    if (isWaitTimeout(err)) return null;
    log("error", "wait_failed", { wait: name, type, error: describe(err) });
    throw err;
  }
}
