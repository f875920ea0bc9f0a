/**
 * Compresses a finished run for the orchestrator's context: `summary` (one line), `mermaid` (the
 * default: a flowchart of outcome, profile/model, files, cost and verify, < 80 tokens for a simple
 * task), `standard` (the diagram plus a short text), `full` (everything, capped). Pure TS with no
 * Node APIs, so the Worker can bundle it too.
 */
import type { Verbosity } from "@vault-mcp/contract";
import type { CompressInput } from "../interfaces.ts";
import { label, money } from "./label.ts";

export const FULL_CAP_CHARS = 16 * 1024;

interface Normalized {
  ok: boolean;
  outcome: string;
  who: string;
  filesLine: string;
  cost: string;
  verify: string | null;
  error: string | null;
}

function normalize(input: CompressInput): Normalized {
  const { run, files, verify } = input;
  const added = files.reduce((n, f) => n + (f.added ?? 0), 0);
  const deleted = files.reduce((n, f) => n + (f.deleted ?? 0), 0);
  const ok = run.ok && (verify?.ok ?? true);
  return {
    ok,
    outcome: ok ? "ok" : run.error ? run.error.kind : verify && !verify.ok ? "verify failed" : "failed",
    who: `${input.profile} ${run.model}`,
    filesLine: files.length === 0 ? "no files changed" : `${files.length} file${files.length === 1 ? "" : "s"} +${added} -${deleted}`,
    cost: money(run.costUsd),
    verify: verify ? (verify.ok ? "verify pass" : `verify fail ${verify.exitCode ?? "killed"}`) : null,
    error: run.error?.message ?? null,
  };
}

export function summaryLine(input: CompressInput): string {
  const n = normalize(input);
  return [n.outcome, n.who, n.filesLine, n.cost, n.verify, n.ok || !n.error ? null : n.error.slice(0, 120)].filter(Boolean).join(" · ").replace(/\n/g, " ");
}

export function mermaid(input: CompressInput): string {
  const n = normalize(input);
  const lines = ["flowchart LR", `  P["${label(n.who)}"] --> O{"${label(n.outcome, 24)}"}`, `  O --> F["${label(n.filesLine)}"]`, `  O --> C["${label(n.cost.replace("$", "USD "))}"]`];
  if (n.verify) lines.push(`  O --> V["${label(n.verify)}"]`);
  if (!n.ok && n.error) lines.push(`  O --> E["${label(n.error, 48)}"]`);
  return lines.join("\n");
}

function fileList(input: CompressInput, limit: number): string[] {
  const shown = input.files.slice(0, limit).map((f) => `- ${f.path} +${f.added ?? "bin"} -${f.deleted ?? "bin"}`);
  if (input.files.length > limit) shown.push(`- … ${input.files.length - limit} more`);
  return shown;
}

export function standard(input: CompressInput): string {
  const answer = input.run.text.split("\n").filter((l) => l.trim()).slice(0, 3).join("\n").slice(0, 300);
  return [mermaid(input), "", summaryLine(input), ...(answer ? ["", answer] : []), ...(input.files.length ? ["", ...fileList(input, 10)] : [])].join("\n");
}

export function full(input: CompressInput): string {
  const { run, verify } = input;
  const parts = [
    mermaid(input),
    "",
    summaryLine(input),
    `tokens in ${run.tokens.input} out ${run.tokens.output} cache-read ${run.tokens.cacheRead} cache-write ${run.tokens.cacheWrite} · ${run.durationMs} ms · ${run.costSource} cost`,
    input.branch ? `branch ${input.branch}${input.commit ? ` @ ${input.commit.slice(0, 12)}` : ""}` : "",
    ...(run.error ? [`error (${run.error.kind}): ${run.error.message}`] : []),
    ...(input.files.length ? ["", "files:", ...fileList(input, 200)] : []),
    ...(verify ? ["", `verify: ${verify.command.join(" ")} → exit ${verify.exitCode}`, verify.output.slice(-2000)] : []),
    "",
    "answer:",
    run.text,
  ];
  const text = parts.filter((p) => p !== "").join("\n");
  return text.length > FULL_CAP_CHARS ? `${text.slice(0, FULL_CAP_CHARS)}\n… (truncated; the full output is in the task's transcript)` : text;
}

export function compress(input: CompressInput, verbosity: Verbosity): string {
  switch (verbosity) {
    case "summary":
      return summaryLine(input);
    case "mermaid":
      return mermaid(input);
    case "standard":
      return standard(input);
    case "full":
      return full(input);
  }
}

