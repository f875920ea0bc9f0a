/** A tiny Mermaid flowchart of where a running task is (Claude.ai shows no progress on its own). */
const safe = (s: string) => s.replace(/["\\`<>{}[\]|#;]/g, "").replace(/\s+/g, " ").slice(0, 60);

export function progressMermaid(taskId: string, status: string, attempt: number, profile: string | null): string {
  const step = profile ? `attempt ${attempt}: ${safe(profile)}` : "queued";
  return `flowchart LR\n  T["${safe(taskId)}"] --> S["${safe(step)}"] --> R(("${safe(status)}"))`;
}
