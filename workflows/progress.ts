/**
 * Tiny Mermaid flowcharts of where a running task is (Claude.ai shows no progress on its own).
 * Labels are stripped of characters Mermaid would read as syntax. The vault CLI renders both.
 */
const safe = (s: string) =>
  s
    .replace(/["\\`<>{}[\]|#;]/g, "")
    .replace(/\s+/g, " ")
    .slice(0, 60);

/** One attempt in progress: task → attempt → status. */
export function progressMermaid(taskId: string, status: string, attempt: number, profile: string | null): string {
  const step = profile ? `attempt ${attempt}: ${safe(profile)}` : "queued";
  return `flowchart LR\n  T["${safe(taskId)}"] --> S["${safe(step)}"] --> R(("${safe(status)}"))`;
}

export interface AttemptMark {
  attempt: number;
  profile: string;
  status: string;
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
  const nodes = [`T["${safe(taskId)}"]`];
  if (hidden > 0) nodes.push(`M["… ${hidden} earlier"]`);
  for (const a of shown) nodes.push(`A${a.attempt}["#${a.attempt} ${safe(a.profile)}: ${safe(a.status)}"]`);
  nodes.push(`R(("${safe(status)}"))`);
  return `flowchart LR\n  ${nodes.join(" --> ")}`;
}
