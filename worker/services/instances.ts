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
