/**
 * The default view: one small flowchart, profile/model → outcome → files, cost, verify (or the
 * error). Node ids are fixed letters and every label goes through `label`, so no input can reach
 * Mermaid's grammar. Sized for the orchestrator's context: < 80 o200k tokens for a simple run.
 *
 *   flowchart LR
 *     P["sonnet claude-sonnet-5-5"] --> O{"ok"}
 *     O --> F["hello.txt +1 -0"] & C["$0.0029"] & V["verify pass"]
 */
import type { ChangedFile } from "@vault-mcp/contract";
import { label, money, pathLabel } from "./label.ts";
import type { RunView } from "./normalize.ts";

/** Up to this many files are named in the diagram; more become a count. */
export const NAMED_FILES = 2;

const delta = (f: ChangedFile): string =>
  f.added === null || f.deleted === null ? "bin" : `+${f.added} -${f.deleted}`;

export function filesLabel(v: RunView): string {
  const n = v.files.length;
  if (n === 0) return "no files changed";
  if (n <= NAMED_FILES) return v.files.map((f) => `${pathLabel(f.path, n === 1 ? 40 : 28)} ${delta(f)}`).join(", ");
  return `${n} files +${v.added} -${v.deleted}${v.binary ? `, ${v.binary} bin` : ""}`;
}

export function whoLabel(v: RunView): string {
  return label(v.profile === v.model ? v.profile : `${v.profile} ${v.model}`, 32);
}

export function verifyLabel(v: RunView): string | null {
  if (!v.verify) return null;
  if (v.verify.ok) return "verify pass";
  // The log's last line ("1 failed, 10 passed") is in `standard`; here it would cost ~10 tokens.
  return v.verify.exitCode === null ? "verify fail, killed" : `verify fail, exit ${v.verify.exitCode}`;
}

export function runMermaid(v: RunView): string {
  const nodes: string[] = [];
  const runFailed = v.failure !== null && v.failure.kind !== "verify";
  if (runFailed && v.failure) nodes.push(`E["${label(v.failure.message, 48)}"]`);
  // A failed run rarely leaves files; when it does they matter (a half-done edit on the branch).
  if (!runFailed || v.files.length > 0) nodes.push(`F["${filesLabel(v)}"]`);
  nodes.push(`C["${money(v.costUsd)}"]`);
  const verify = verifyLabel(v);
  if (verify) nodes.push(`V["${verify}"]`);
  return [
    "flowchart LR",
    `  P["${whoLabel(v)}"] --> O{"${label(v.outcome, 24)}"}`,
    `  O --> ${nodes.join(" & ")}`,
  ].join("\n");
}
