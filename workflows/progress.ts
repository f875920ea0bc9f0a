/**
 * Where a task that has not finished is: as data and words (`progressOf`, for the REST view, the
 * `vault` CLI and MCP progress notifications) and as a tiny Mermaid flowchart for MCP clients
 * (Claude.ai shows no progress on its own), drawn by core/mermaid.ts.
 */
import type { TaskProgress } from "@vault-mcp/contract";
import { chain, type FlowNode } from "../core/mermaid.ts";

/** One attempt in progress: task → attempt → status. */
export function progressMermaid(taskId: string, status: string, attempt: number, profile: string | null): string {
  const step = profile ? `attempt ${attempt}: ${profile}` : "queued";
  return chain([
    { id: "T", label: taskId },
    { id: "S", label: step },
    { id: "R", label: status, shape: "circle" },
  ]);
}

export interface AttemptMark {
  attempt: number;
  profile: string;
  status: string;
  /** The chooser's line on the attempt it picked. */
  note?: string | null;
}

export const PROGRESS_ATTEMPTS = 4;

/**
 * The attempts written so far (oldest first; only the last PROGRESS_ATTEMPTS are drawn, `earlier`
 * counts those before them), then the task's status: task → #1 deepseek: failed → … → (running).
 */
export function attemptsMermaid(taskId: string, status: string, attempts: readonly AttemptMark[], earlier = 0): string {
  if (attempts.length === 0) return progressMermaid(taskId, status, 1, null);
  const shown = attempts.slice(-PROGRESS_ATTEMPTS);
  const hidden = earlier + attempts.length - shown.length;
  const nodes: FlowNode[] = [{ id: "T", label: taskId }];
  if (hidden > 0) nodes.push({ id: "M", label: `… ${hidden} earlier` });
  for (const a of shown) nodes.push({ id: `A${a.attempt}`, label: `#${a.attempt} ${a.profile}: ${a.status}` });
  nodes.push({ id: "R", label: status, shape: "circle" });
  return chain(nodes);
}

/**
 * The attempt under way after the last one written (oldest first), and the same in words, with the
 * chooser's latest line among `noted` (by default the same attempts): why the climb started where it did.
 */
export function progressOf(
  attempts: readonly AttemptMark[],
  noted: readonly Pick<AttemptMark, "note">[] = attempts,
): TaskProgress {
  const last = attempts.at(-1);
  const note = noted.findLast((a) => a.note)?.note;
  const why = note ? `; ${note}` : "";
  if (!last) return { attempt: 1, text: `first attempt under way${why}` };
  return {
    attempt: last.attempt + 1,
    text: `attempt ${last.attempt} (${last.profile}) ${last.status}; attempt ${last.attempt + 1} under way${why}`,
  };
}
