/**
 * What went wrong in an attempt, read back from an error that crossed `step.do` (by then a plain
 * Error: class and fields are gone, the message reads `<Name>: [tag] text`).
 *   executor failures → the attempt gets an `error` stage, the task ends `failed`, the instance
 *                       completes (climbing the ladder would meet the same executor);
 *   anything else     → storage (D1) or a bug: the instance errors after a best-effort `fail` step.
 */
import type { ExecutorFailure } from "./executor-client.ts";

export type AttemptFailure =
  | { scope: "executor"; failure: ExecutorFailure; stageErrorKind: string; message: string }
  | { scope: "internal"; message: string };

const STAGE_ERROR_KIND: Record<ExecutorFailure, string> = {
  auth: "auth",
  refused: "refused",
  unreachable: "unreachable",
  busy: "rate_limit",
  server: "executor",
  running: "timeout",
  bad_answer: "bad_answer",
};

const TAG = /\[executor:(auth|refused|unreachable|busy|server|running|bad_answer)\] ?/;

export function classifyFailure(err: unknown): AttemptFailure {
  const raw = err instanceof Error ? err.message : String(err);
  // Drop the `Error: ` / `NonRetryableError: ` prefixes the engine adds.
  const message = raw.replace(/^(?:[A-Za-z]*Error: )+/, "").slice(0, 1000);
  const m = TAG.exec(message);
  if (!m) return { scope: "internal", message };
  const failure = m[1] as ExecutorFailure;
  return { scope: "executor", failure, stageErrorKind: STAGE_ERROR_KIND[failure], message: message.replace(TAG, "") };
}
