/**
 * The text verbosities. `summary` is one line; `standard` is the diagram plus the start of the
 * answer and the file list; `full` is everything, capped at 16 KiB (UTF-8) with the answer last, so
 * a long answer is what gets cut, never the outcome, error or file list above it.
 */
import { cut, money, plain, utf8Length, utf8Size } from "./label.ts";
import { runMermaid } from "./mermaid.ts";
import type { RunView } from "./normalize.ts";

export const FULL_CAP_BYTES = 16 * 1024;
const STANDARD_ANSWER_LINES = 3;
const STANDARD_ANSWER_BYTES = 300;
const STANDARD_FILES = 10;
const FULL_FILES = 200;
const FULL_VERIFY_TAIL = 2000;
const TRUNCATED = "\n… (cut at 16 KiB; the whole output is in the task's transcript)";

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? "" : "s"}`;

function who(v: RunView): string {
  return plain(v.profile === v.model ? v.profile : `${v.profile} ${v.model}`);
}

export function summaryLine(v: RunView): string {
  const files =
    v.files.length === 0 ? "no files changed" : `${plural(v.files.length, "file")} +${v.added} -${v.deleted}`;
  const verifyFailure = v.failure?.kind === "verify" ? ` (${cut(plain(v.failure.message), 80)})` : "";
  const verify = v.verify ? (v.verify.ok ? "verify pass" : `verify fail${verifyFailure}`) : null;
  const failure =
    v.failure && v.failure.kind !== "verify" ? `${v.failure.kind}: ${cut(plain(v.failure.message), 120)}` : null;
  return [v.outcome, cut(who(v), 60), files, money(v.costUsd), verify, failure].filter((p) => p !== null).join(" · ");
}

function fileLines(v: RunView, limit: number): string[] {
  const shown = v.files
    .slice(0, limit)
    .map(
      (f) => `- ${plain(f.path)} ${f.added === null || f.deleted === null ? "(binary)" : `+${f.added} -${f.deleted}`}`,
    );
  if (v.files.length > limit) shown.push(`- … ${v.files.length - limit} more`);
  return shown;
}

function failureLines(v: RunView, maxBytes: number, raw: boolean): string[] {
  if (!v.failure) return [];
  if (v.failure.kind === "verify" && v.verify)
    return [`verify failed: ${plain(v.verify.command)} → ${cut(plain(v.failure.message), maxBytes)}`];
  return [`error (${v.failure.kind}): ${cut((raw ? v.failure.raw : v.failure.message).trim(), maxBytes)}`];
}

function refLine(v: RunView, commitChars: number): string[] {
  return v.branch ? [`branch ${v.branch}${v.commit ? ` @ ${v.commit.slice(0, commitChars)}` : ""}`] : [];
}

export function standard(v: RunView): string {
  const answer = v.text
    .split("\n")
    .map((l) => l.trimEnd())
    .filter((l) => l.trim() !== "")
    .slice(0, STANDARD_ANSWER_LINES)
    .join("\n");
  return [
    runMermaid(v),
    "",
    ...failureLines(v, 300, false),
    answer ? `answer: ${cut(answer, STANDARD_ANSWER_BYTES)}` : "answer: (none)",
    ...(v.files.length ? ["files:", ...fileLines(v, STANDARD_FILES)] : []),
    ...refLine(v, 12),
  ].join("\n");
}

export function full(v: RunView): string {
  const t = v.tokens;
  const body = [
    summaryLine(v),
    `model ${v.model} · profile ${v.profile} · cost ${money(v.costUsd)} (${v.costSource}) · ${v.durationMs} ms`,
    `tokens in ${t.input} out ${t.output} cache-read ${t.cacheRead} cache-write ${t.cacheWrite}`,
    ...refLine(v, 40),
    ...failureLines(v, 4000, true),
    ...(v.truncated ? ["the CLI's output was cut at the store cap (1 MiB)"] : []),
    ...(v.files.length ? [`files (${v.files.length}):`, ...fileLines(v, FULL_FILES)] : ["no files changed"]),
    ...(v.verify
      ? [
          `verify: ${v.verify.command} → ${v.verify.ok ? "pass" : "fail"}, exit ${v.verify.exitCode ?? "none"}, ${v.verify.durationMs} ms`,
          ...(v.verify.output.trim()
            ? ["verify log (end):", cut(v.verify.output.trimEnd(), FULL_VERIFY_TAIL, "tail")]
            : []),
        ]
      : []),
    "answer:",
    v.text || "(none)",
  ];
  const text = [runMermaid(v), "", ...body.filter((p) => p !== "")].join("\n");
  return capUtf8(text, FULL_CAP_BYTES, TRUNCATED);
}

/** Cuts `text` to at most `maxBytes` UTF-8 bytes, including `marker` when it cuts, never inside a code point. No TextEncoder: compress/ runs with ECMAScript globals only. */
function capUtf8(text: string, maxBytes: number, marker: string): string {
  if (utf8Length(text) <= maxBytes) return text;
  let budget = maxBytes - utf8Length(marker);
  let end = 0;
  for (const ch of text) {
    budget -= utf8Size(ch.codePointAt(0) ?? 0);
    if (budget < 0) break;
    end += ch.length;
  }
  return text.slice(0, end) + marker;
}
