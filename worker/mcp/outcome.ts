/** A task's outcome as the `execute` and `workflow_query state` tools answer it (text and structuredContent). */
import type { ExecuteOutcome } from "@vault-mcp/contract";
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
  };
}

export function outcomeText(o: ExecuteOutcome): string {
  const head = `${o.taskId} ${o.status}${o.flags.length ? ` [${o.flags.join(", ")}]` : ""} $${o.costUsd.toFixed(4)}`;
  const next =
    o.status === "running"
      ? `\nstill running: call workflow_query {query:'state', taskId:'${o.taskId}'} in a while`
      : "";
  return `${head}\n${inertText(o.result ?? o.progress ?? o.error ?? "")}${next}`;
}
