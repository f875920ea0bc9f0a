/**
 * What the three adapters share: the child's environment, the error kinds that do not depend on the
 * payload, and tolerant JSON extraction. Their usage follows the token convention of tokens.ts.
 */
import type { CliName, RunError, RunResult } from "@vault-mcp/contract";
import type { CliRunInput, ProcessOutcome } from "../interfaces.ts";
import { ZERO_TOKENS } from "../tokens.ts";

/** Text kept in a result (the full output goes to the transcript through the job store). */
const MAX_TEXT_CHARS = 256 * 1024;
/** RunError.message is capped at 4000 by the contract. */
const MAX_MESSAGE_CHARS = 2000;

/** profileEnv keys the runner adds for the executable paths; they are argv, not environment. */
export const BIN_KEYS = { claude: "CLAUDE_BIN", codex: "CODEX_BIN", gemini: "GEMINI_BIN" } as const satisfies Record<
  CliName,
  string
>;

/** The profile env variables that carry an API key, per CLI: dropped from a subscription run. */
export const API_KEY_VARS: Readonly<Record<CliName, readonly string[]>> = {
  claude: ["ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN"],
  codex: ["CODEX_API_KEY"],
  gemini: ["GEMINI_API_KEY"],
};

export function message(text: string): string {
  return text.length > MAX_MESSAGE_CHARS ? `${text.slice(0, MAX_MESSAGE_CHARS - 1)}…` : text;
}

/**
 * The answer a run keeps (at most MAX_TEXT_CHARS), and whether anything of it, or of the output it was
 * read from (a run that printed more than the cap: process/capped-output.ts), was cut.
 */
export function answer(text: string, outcome: ProcessOutcome): Pick<RunResult, "text" | "truncated"> {
  const cut = text.length > MAX_TEXT_CHARS;
  return { text: cut ? text.slice(0, MAX_TEXT_CHARS) : text, truncated: outcome.stdoutTruncated || cut };
}

/** Maps an HTTP status a CLI reported to our error kinds. */
export function kindForStatus(status: number): RunError["kind"] {
  if (status === 401 || status === 403) return "auth";
  if (status === 429) return "rate_limit";
  return "api";
}

/**
 * Classifies a CLI's error text. A status next to the words "status"/"code" wins; URLs are dropped
 * first so a port or a path segment is never read as a status.
 */
export function kindFromMessage(text: string): RunError["kind"] {
  const t = text.replace(/\bhttps?:\/\/\S+/g, "");
  const status = /\b(?:status|code)\b\D{0,4}([45]\d\d)\b/i.exec(t)?.[1];
  if (status) return kindForStatus(Number(status));
  if (
    /unauthori[sz]ed|forbidden|invalid.{0,12}api.?key|missing environment variable|api.?key|not logged in|authenticat|auth method|permission.denied/i.test(
      t,
    )
  )
    return "auth";
  if (/rate.?limit|too many requests|quota|resource.exhausted|usage limit/i.test(t)) return "rate_limit";
  return "api";
}

/** The outcomes every adapter handles the same way, before looking at the payload. */
export function processFailure(cli: CliName, outcome: ProcessOutcome): RunError | null {
  // The executor's setup, not the model: nothing ran, so it must not count against the profile.
  if (outcome.spawnError)
    return {
      kind: "setup",
      message: message(
        `could not start ${cli}: ${outcome.spawnError}; install it (\`npm run clis\` locally, see executor/README.md on a VM) or set ${BIN_KEYS[cli]}`,
      ),
    };
  // Our timeout decides, whatever the exit code says: gemini exits 0 after SIGTERM, claude 143.
  if (outcome.timedOut) return { kind: "timeout", message: `killed after the job timeout (${outcome.durationMs} ms)` };
  if (outcome.aborted) return { kind: "interrupted", message: "stopped by executor shutdown" };
  return null;
}

/** Why there is no result payload: killed, silent (crash), or printed something we cannot read (bad_output). */
export function noPayload(cli: CliName, outcome: ProcessOutcome, what: string): RunError {
  const status = outcome.signal ? `signal ${outcome.signal}` : `exit ${outcome.exitCode}`;
  if (outcome.signal)
    return { kind: "crash", message: message(`${cli} was killed by ${outcome.signal}${tail(outcome.stderr)}`) };
  if (outcome.stdout.trim() === "") {
    return { kind: "crash", message: message(`${cli} printed no ${what} (${status})${tail(outcome.stderr)}`) };
  }
  const cut = outcome.stdoutTruncated ? "; stdout was cut at the output cap" : "";
  return { kind: "bad_output", message: message(`${cli} printed output that is not its ${what} (${status}${cut})`) };
}

function tail(stderr: string): string {
  const reason = stderrReason(stderr);
  return reason ? `: ${reason}` : "";
}

/** stderr lines the CLIs print on every run: never the reason something failed. */
const NOISE =
  /^(warn(ing)?\b|reading additional input|\[startup\]|yolo mode|ripgrep is not available|loaded cached credentials)/i;
const REASON = /error|fatal|fail|cannot|can't|not |refus|denied|invalid|missing|unable/i;

/** A one-line reason from stderr: the last line that reads like one, ignoring the CLIs' routine notices. */
export function stderrReason(stderr: string): string {
  const lines = stderr
    // biome-ignore lint/suspicious/noControlCharactersInRegex: strips terminal color codes
    .replace(/\u001b\[[0-9;]*m/g, "")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l.length > 0 && !NOISE.test(l) && !l.startsWith("at "));
  const line = lines.findLast((l) => REASON.test(l)) ?? lines.at(-1) ?? "";
  return line.slice(0, 500);
}

export function baseResult(
  cli: CliName,
  outcome: ProcessOutcome,
  model: string,
): Pick<RunResult, "cli" | "exitCode" | "signal" | "durationMs" | "model" | "truncated"> {
  return {
    cli,
    exitCode: outcome.exitCode,
    signal: outcome.signal,
    durationMs: Math.max(0, Math.round(outcome.durationMs)),
    model,
    truncated: outcome.stdoutTruncated,
  };
}

export interface FailedResultInput {
  cli: CliName;
  outcome: ProcessOutcome;
  model: string;
  costSource: RunResult["costSource"];
  error: RunError;
  sessionId?: string | null;
}

/** A failed run with no usable payload (no tokens, no cost). */
export function failedResult({
  cli,
  outcome,
  model,
  costSource,
  error,
  sessionId = null,
}: FailedResultInput): RunResult {
  return {
    ...baseResult(cli, outcome, model),
    ok: false,
    text: "",
    costUsd: 0,
    costSource,
    tokens: { ...ZERO_TOKENS },
    sessionId,
    error,
  };
}

/**
 * The child's complete environment: a fixed base, the profile's variables (keys, base URLs, model
 * overrides: the executor's own config, never the request), then what the adapter must set, which
 * wins over both. Nothing else from the executor's environment reaches the CLI.
 */
export function childEnv(
  input: CliRunInput,
  drop: readonly string[],
  adapterEnv: Readonly<Record<string, string>>,
): Record<string, string> {
  const profile: Record<string, string> = {};
  const skip = new Set<string>([...Object.values(BIN_KEYS), ...drop]);
  for (const [k, v] of Object.entries(input.profileEnv)) if (!skip.has(k)) profile[k] = v;
  return {
    PATH: process.env.PATH ?? "/usr/local/bin:/usr/bin:/bin",
    LANG: "C.UTF-8",
    TERM: "dumb",
    NO_COLOR: "1",
    CI: "1",
    ...profile,
    HOME: input.home,
    // Scratch files (gemini's error reports, test runs) land in the per-run home, which is removed.
    TMPDIR: `${input.home}/tmp`,
    ...adapterEnv,
  };
}

/** The executable: the runner passes the configured path as CLAUDE_BIN / CODEX_BIN / GEMINI_BIN. */
export function binary(cli: CliName, profileEnv: Readonly<Record<string, string>>): string {
  const configured = profileEnv[BIN_KEYS[cli]];
  return configured !== undefined && configured !== "" ? configured : cli;
}

/**
 * The last complete top-level JSON object in a text. CLIs print logs or stack traces before it
 * (gemini's error object comes after a stack trace) and sometimes warnings after it, so each line
 * that starts with `{` is tried as the start, from the end, and scanned to its matching brace.
 */
export function lastJsonObject(text: string): unknown {
  const starts: number[] = [];
  for (let i = text.indexOf("{"); i !== -1; i = text.indexOf("{", i + 1)) {
    if (i === 0 || text[i - 1] === "\n") starts.push(i);
  }
  for (const start of starts.reverse()) {
    const end = matchingBrace(text, start);
    if (end === -1) continue;
    try {
      const value: unknown = JSON.parse(text.slice(start, end + 1));
      if (typeof value === "object" && value !== null && !Array.isArray(value)) return value;
    } catch {
      // not JSON after all: try an earlier start
    }
  }
  return undefined;
}

function matchingBrace(text: string, start: number): number {
  let depth = 0;
  let inString = false;
  for (let i = start; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === "\\") i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === "{") depth++;
    else if (c === "}" && --depth === 0) return i;
  }
  return -1;
}

/** Each complete JSON line of a JSONL stream; a torn last line (a killed run) and non-JSON lines are skipped. */
export function* jsonLines(text: string): Generator<unknown> {
  for (const line of text.split("\n")) {
    const t = line.trim();
    if (!t.startsWith("{")) continue;
    try {
      yield JSON.parse(t) as unknown;
    } catch {
      // partial or foreign line
    }
  }
}
