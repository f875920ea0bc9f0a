/**
 * A tiny "where is my task" flowchart for the orchestrator while a task runs (Claude.ai shows no
 * progress of its own). Pure TS with no imports beyond `label`, so the Worker can bundle it; the
 * argument order matches workflows/progress.ts so it can replace that helper as is.
 *
 *   flowchart LR
 *     T["task 7f3a…"] --> S(["verify"]) --> A["attempt 2 sonnet"]
 */
import { label } from "./label.ts";

/**
 * @param taskId  the task (or job) id
 * @param step    what is happening now, e.g. `queued`, `running`, `verify`
 * @param attempt 1-based rung/attempt number; anything not a positive integer shows as 1
 * @param profile the profile running it, or null before one is picked (then no attempt node)
 */
export function progressMermaid(taskId: string, step: string, attempt: number, profile: string | null): string {
  const head = `  T["task ${label(taskId, 40, "tail")}"] --> S(["${label(step, 32)}"])`;
  if (profile === null) return `flowchart LR\n${head}`;
  const n = Number.isSafeInteger(attempt) && attempt > 0 ? attempt : 1;
  return `flowchart LR\n${head} --> A["attempt ${n} ${label(profile, 32)}"]`;
}
