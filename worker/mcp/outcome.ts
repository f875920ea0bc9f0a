/** A task's outcome as the `execute` and `workflow_query state` tools answer it (text and structuredContent). */
import type { ExecuteOutcome, TaskChange } from "@vault-mcp/contract";
import { inertText } from "./safe-text.ts";

/**
 * Exactly the advertised fields (the output schema admits no others). The result carries an agent's
 * words at `standard`/`full` and the error a model API's: both are made inert (safe-text.ts).
 */
export function outcomeContent(o: ExecuteOutcome): ExecuteOutcome {
  return {
    taskId: o.taskId,
    status: o.status,
    flags: o.flags,
    costUsd: o.costUsd,
    ...(o.result !== undefined ? { result: inertText(o.result) } : {}),
    ...(o.progress !== undefined ? { progress: inertText(o.progress) } : {}),
    ...(o.error !== undefined ? { error: inertText(o.error) } : {}),
    ...(o.change !== undefined
      ? {
          change: {
            ...o.change,
            ...(o.change.deliveryError === null ? {} : { deliveryError: inertText(o.change.deliveryError) }),
          },
        }
      : {}),
  };
}

/**
 * The change in one line, beside the diagram (never inside it): branch, commit, diffstat, and the
 * pull request or why the delivery failed.
 */
export function changeText(c: TaskChange): string {
  const where = c.delivery === "delivered" || c.delivery === "discarded" ? "" : " (on the executor)";
  const stat = `${c.files} file${c.files === 1 ? "" : "s"} +${c.added} -${c.deleted}`;
  const pr = c.prUrl ? ` · PR ${c.prUrl}` : "";
  const state =
    c.delivery === "failed"
      ? `
${inertText(c.deliveryError ?? "delivery failed")}`
      : c.delivery === "discarded"
        ? " · discarded"
        : "";
  return `branch ${c.branch}${where} @ ${c.commit.slice(0, 12)} · ${stat}${pr}${state}`;
}

export function outcomeText(o: ExecuteOutcome): string {
  const head = `${o.taskId} ${o.status}${o.flags.length ? ` [${o.flags.join(", ")}]` : ""} $${o.costUsd.toFixed(4)}`;
  const next =
    o.status === "running"
      ? `\nstill running: call workflow_query {query:'state', taskId:'${o.taskId}'} in a while`
      : "";
  const change = o.change ? `\n${changeText(o.change)}` : "";
  return `${head}${change}\n${inertText(o.result ?? o.progress ?? o.error ?? "")}${next}`;
}
