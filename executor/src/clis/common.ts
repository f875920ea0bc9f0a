import type { CliName, RunError, RunResult, Tokens } from "@vault-mcp/contract";
import type { ProcessOutcome } from "../interfaces.ts";

export const ZERO_TOKENS: Tokens = { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 };

/** Text kept in a result (the full output goes to the transcript through the job store). */
export const MAX_TEXT_CHARS = 256 * 1024;

/** Maps an HTTP status a CLI reported to our error kinds. */
export function kindForStatus(status: number | null | undefined): RunError["kind"] {
  if (status === 401 || status === 403) return "auth";
  if (status === 429) return "rate_limit";
  return "api";
}

/** The last complete JSON object in a text (CLIs print logs or stack traces before it). */
export function lastJsonObject(text: string): unknown {
  const trimmed = text.trim();
  for (let i = trimmed.lastIndexOf("\n{"); ; i = trimmed.lastIndexOf("\n{", i - 1)) {
    const start = i < 0 ? 0 : i + 1;
    try {
      return JSON.parse(trimmed.slice(start)) as unknown;
    } catch {
      if (i < 0) return undefined;
    }
  }
}

/** The outcomes every adapter handles the same way, before looking at the payload. */
export function processFailure(outcome: ProcessOutcome): RunError | null {
  if (outcome.spawnError) return { kind: "crash", message: `could not start the CLI: ${outcome.spawnError}` };
  if (outcome.timedOut) return { kind: "timeout", message: `killed after the job timeout (${outcome.durationMs} ms)` };
  if (outcome.aborted) return { kind: "interrupted", message: "stopped by executor shutdown" };
  return null;
}

export function baseResult(cli: CliName, outcome: ProcessOutcome, model: string): Omit<RunResult, "ok" | "text" | "costUsd" | "costSource" | "tokens" | "sessionId"> {
  return {
    cli,
    exitCode: outcome.exitCode,
    signal: outcome.signal,
    durationMs: outcome.durationMs,
    model,
    truncated: outcome.stdoutTruncated,
  };
}

export function clip(text: string): string {
  return text.length > MAX_TEXT_CHARS ? text.slice(0, MAX_TEXT_CHARS) : text;
}

/** A one-line reason from stderr for crash results (first non-empty line, capped). */
export function stderrReason(stderr: string): string {
  const line = stderr.split("\n").map((l) => l.trim()).find((l) => l.length > 0) ?? "";
  return line.slice(0, 500);
}

/** The environment every CLI gets: our own PATH and a per-run HOME; nothing from the executor's env leaks. */
export function baseEnv(home: string): Record<string, string> {
  return {
    PATH: process.env.PATH ?? "/usr/local/bin:/usr/bin:/bin",
    HOME: home,
    TMPDIR: `${home}/tmp`,
    LANG: "C.UTF-8",
    TERM: "dumb",
    NO_COLOR: "1",
    CI: "1",
  };
}
