/**
 * One normalized view of a finished run, computed once, so the four verbosities cannot disagree
 * about what happened (e.g. the summary saying "ok" while the diagram says "verify failed").
 */
import type { ChangedFile, Tokens } from "@vault-mcp/contract";
import type { CompressInput } from "../interfaces.ts";

export interface Failure {
  /** An ErrorKind from the run, `verify` for a failed verification, or `failed` / `killed` when the run gave none. */
  kind: string;
  /** Readable: an API's JSON error body reduced to its code and message. */
  message: string;
  /** As the run or verify reported it (the `full` level shows this). */
  raw: string;
}

export interface VerifyView {
  ok: boolean;
  command: string;
  exitCode: number | null;
  durationMs: number;
  output: string;
}

export interface RunView {
  /** The run succeeded and its verification (if any) passed. */
  ok: boolean;
  /** `ok`, the failure kind, or `verify failed`. */
  outcome: string;
  failure: Failure | null;
  profile: string;
  model: string;
  /** Each path once (a path listed twice keeps its first entry), in the order git listed them; counts cleaned. */
  files: ChangedFile[];
  added: number;
  deleted: number;
  /** Files git counted as binary (no line counts). */
  binary: number;
  costUsd: number;
  costSource: string;
  verify: VerifyView | null;
  /** The model's answer with CRLF folded and outer blank space trimmed. */
  text: string;
  tokens: Tokens;
  durationMs: number;
  /** The CLI's output was cut at the store cap. */
  truncated: boolean;
  branch: string | null;
  commit: string | null;
}

/** Terminal colour and cursor sequences (a test runner that thinks it has a TTY): noise to a reader and to a tokenizer. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching terminal escape codes is the point
const ANSI = /\u001b\[[0-9;?]*[ -/]*[@-~]/g;
const stripAnsi = (s: string): string => s.replace(ANSI, "");

const count = (n: number): number => (Number.isFinite(n) && n > 0 ? Math.trunc(n) : 0);
const nonNegative = (n: number): number => (Number.isFinite(n) && n > 0 ? n : 0);

/** Each path once, with line counts that are whole and non-negative (null stays null: a binary file). */
function cleanFiles(files: readonly ChangedFile[]): ChangedFile[] {
  const seen = new Set<string>();
  const out: ChangedFile[] = [];
  for (const f of files) {
    if (seen.has(f.path)) continue;
    seen.add(f.path);
    out.push({
      path: f.path,
      added: f.added === null ? null : count(f.added),
      deleted: f.deleted === null ? null : count(f.deleted),
    });
  }
  return out;
}

/**
 * Some CLIs pass the API's JSON error body through as the message (gemini's 401 is
 * `{"error":{"code":401,"message":"…","status":"UNAUTHENTICATED"}}`): in a 48-byte label that is
 * all braces. Keep the words: `401 UNAUTHENTICATED: mock: invalid API key`, with any text before the JSON.
 */
function readableMessage(message: string): string {
  const start = message.indexOf("{");
  const end = message.lastIndexOf("}");
  if (start < 0 || end <= start) return message;
  let body: unknown;
  try {
    body = JSON.parse(message.slice(start, end + 1));
  } catch {
    return message; // not JSON after all: the text is the message
  }
  const field = (o: unknown, k: string): unknown =>
    typeof o === "object" && o !== null ? (o as Record<string, unknown>)[k] : undefined;
  const err = field(body, "error") ?? body;
  const text = field(err, "message") ?? (typeof err === "string" ? err : undefined);
  if (typeof text !== "string" || text.trim() === "") return message;
  const code = [field(err, "code"), field(err, "status") ?? field(err, "type")]
    .filter((x) => typeof x === "string" || typeof x === "number")
    .join(" ");
  const before = message
    .slice(0, start)
    .trim()
    .replace(/[:\s]+$/, "");
  return [before, code, text].filter(Boolean).join(": ");
}

function runFailure(input: CompressInput): Failure | null {
  const { run } = input;
  if (run.ok) return null;
  if (run.error)
    return { kind: run.error.kind, message: readableMessage(stripAnsi(run.error.message)), raw: run.error.message };
  const message = run.signal
    ? `killed by ${run.signal}`
    : run.exitCode === null
      ? "no exit code"
      : `exit ${run.exitCode}`;
  return { kind: run.signal ? "killed" : "failed", message, raw: message };
}

/** The last non-blank line of a verify log: usually the test runner's verdict ("2 failed, 10 passed"). */
function lastLine(output: string): string {
  const lines = output
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter(Boolean);
  return lines[lines.length - 1] ?? "";
}

export function normalize(input: CompressInput): RunView {
  const { run } = input;
  const files = cleanFiles(input.files);
  const verify: VerifyView | null = input.verify
    ? {
        ok: input.verify.ok,
        command: input.verify.command.join(" "),
        exitCode: input.verify.exitCode,
        durationMs: nonNegative(input.verify.durationMs),
        output: stripAnsi(input.verify.output),
      }
    : null;
  let failure = runFailure(input);
  if (!failure && verify && !verify.ok) {
    const last = lastLine(verify.output);
    const message = `${verify.exitCode === null ? "killed" : `exit ${verify.exitCode}`}${last ? `: ${last}` : ""}`;
    failure = { kind: "verify", message, raw: message };
  }
  return {
    ok: failure === null,
    outcome: failure === null ? "ok" : failure.kind === "verify" ? "verify failed" : failure.kind,
    failure,
    profile: input.profile,
    model: run.model,
    files,
    added: files.reduce((n, f) => n + (f.added ?? 0), 0),
    deleted: files.reduce((n, f) => n + (f.deleted ?? 0), 0),
    binary: files.filter((f) => f.added === null || f.deleted === null).length,
    costUsd: run.costUsd,
    costSource: run.costSource,
    verify,
    text: stripAnsi(run.text).replace(/\r\n?/g, "\n").trim(),
    tokens: run.tokens,
    durationMs: nonNegative(run.durationMs),
    truncated: run.truncated,
    branch: input.branch,
    commit: input.commit,
  };
}
