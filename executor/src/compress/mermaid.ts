/**
 * The default view: one small flowchart, profile/model → outcome → files, cost, verify (or the
 * error), written by the flowchart builder (flowchart.ts), which escapes every label. Sized for the
 * orchestrator's context: < 80 o200k tokens for a simple run.
 *
 *   flowchart LR
 *     P["sonnet claude-sonnet-5-5"] --> O{"ok"}
 *     O --> F["hello.txt +1 -0"] & C["$0.0029"] & V["verify pass"]
 */
import type { ChangedFile } from "@vault-mcp/contract";
import { Flowchart, type NodeDecl, node } from "./flowchart.ts";
import { clip, clipPath, money } from "./label.ts";
import type { RunView } from "./normalize.ts";

/** Up to this many files are named in the diagram; more become a count. */
const NAMED_FILES = 2;

const delta = (f: ChangedFile): string =>
  f.added === null || f.deleted === null ? "bin" : `+${f.added} -${f.deleted}`;

function filesLabel(v: RunView): string {
  const n = v.files.length;
  if (n === 0) return "no files changed";
  if (n <= NAMED_FILES) return v.files.map((f) => `${clipPath(f.path, n === 1 ? 40 : 28)} ${delta(f)}`).join(", ");
  return `${n} files +${v.added} -${v.deleted}${v.binary ? `, ${v.binary} bin` : ""}`;
}

function verifyLabel(v: RunView): string | null {
  if (!v.verify) return null;
  if (v.verify.ok) return "verify pass";
  // The log's last line ("1 failed, 10 passed") is in `standard`; here it would cost ~10 tokens.
  return v.verify.exitCode === null ? "verify fail, killed" : `verify fail, exit ${v.verify.exitCode}`;
}

export function runMermaid(v: RunView): string {
  const after: NodeDecl[] = [];
  const runFailed = v.failure !== null && v.failure.kind !== "verify";
  if (runFailed && v.failure) after.push(node("E", clip(v.failure.message, 48)));
  // A failed run rarely leaves files; when it does they matter (a half-done edit on the branch).
  if (!runFailed || v.files.length > 0) after.push(node("F", filesLabel(v)));
  after.push(node("C", money(v.costUsd)));
  const verify = verifyLabel(v);
  if (verify) after.push(node("V", verify));
  const who = clip(v.profile === v.model ? v.profile : `${v.profile} ${v.model}`, 32);
  return new Flowchart()
    .chain("-->", node("P", who), node("O", clip(v.outcome, 24), "decision"))
    .chain("-->", "O", after)
    .render();
}
