/** What the Worker asks of a task's ExecuteWorkflow instance, with the engine's failures told apart. */
import { describe } from "../../core/errors.ts";
import { log } from "../../core/log.ts";

/** The engine's answer for an id with no instance (`instance.not_found`): a task never executed. */
export const isInstanceMissing = (err: unknown): boolean => /not.found/i.test(describe(err));

/**
 * The instance's status, or null when it cannot be told: there is no instance (yet), or the engine
 * did not answer (logged); the caller then goes by the task row.
 */
export async function instanceStatus(env: Env, taskId: string): Promise<InstanceStatus["status"] | null> {
  try {
    return (await (await env.EXECUTE_WORKFLOW.get(taskId)).status()).status;
  } catch (err) {
    if (isInstanceMissing(err)) return null;
    log("warn", "instance_status_unreadable", { taskId, error: describe(err) });
    return null;
  }
}

/** What reconcile needs to know of an instance: whether anything will still move its task. */
export interface InstanceState {
  /**
   * `live`: queued, running or waiting (it will act, or an event wakes it); `paused`: someone paused
   * it; `ended`: complete, errored or terminated; `missing`: no instance (never created, or pruned).
   */
  state: "live" | "paused" | "ended" | "missing";
  status: InstanceStatus["status"] | null;
}

/** The instance's state; an engine that does not answer throws (never taken as "ended"). */
export async function instanceState(env: Env, taskId: string): Promise<InstanceState> {
  let instance: WorkflowInstance;
  try {
    instance = await env.EXECUTE_WORKFLOW.get(taskId);
  } catch (err) {
    if (isInstanceMissing(err)) return { state: "missing", status: null };
    throw err;
  }
  const { status } = await instance.status();
  if (status === "complete" || status === "errored" || status === "terminated") return { state: "ended", status };
  if (status === "paused" || status === "waitingForPause") return { state: "paused", status };
  return { state: "live", status };
}

/** Sends an event to the task's instance (reconcile's wake-up: the result it missed, or WAKE_EVENT). */
export async function sendToInstance(env: Env, taskId: string, type: string, payload: unknown): Promise<void> {
  await (await env.EXECUTE_WORKFLOW.get(taskId)).sendEvent({ type, payload });
}
