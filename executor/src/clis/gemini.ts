/**
 * gemini -p, --output-format json: the result object on stdout; on failure stdout is empty and the
 * error object comes last on stderr, with the exit code = HTTP status & 255 (or one of gemini's own
 * codes: 41 auth, 53 turn limit, …).
 *
 * Permissions, the least that still lets the agent edit and test inside its worktree (checked
 * against the real CLI through the mock's tool scenario):
 *  - headless gemini offers the model no mutating tool at all unless an approval mode allows it;
 *  - `--approval-mode auto_edit` offers write_file/replace but still withholds run_shell_command,
 *    so the agent could not run tests;
 *  - `--yolo` would approve every tool, web_fetch and web search included.
 *  So: auto_edit plus a user policy (per-run home) that allows run_shell_command and denies the web
 *  tools. There is no sandbox here (gemini's needs docker); the worktree is the boundary.
 *
 * Home: one GEMINI_CLI_HOME per run (a lock file left in a shared home stalls the next start by
 * ~13 s). No relaunch, so our SIGTERM reaches the real process (it then exits 0: our timeout flag
 * decides). Retries off (maxAttempts 1). The endpoint variable is always set: gemini reads the
 * repository's .env, and only variables already set win over it (checked), so a repository cannot
 * send our credential elsewhere.
 *
 * Auth: `api_key` passes GEMINI_API_KEY with GOOGLE_GEMINI_BASE_URL. `subscription` (Login with
 * Google) selects `oauth-personal` against the Code Assist endpoint; the login made once in the login
 * home (`GEMINI_CLI_HOME=<login home> gemini`) is linked into the run's home: oauth_creds.json and
 * google_accounts.json are symlinks, and gemini writes a refreshed token with a plain writeFile on the
 * same path (checked in its bundle), which follows the link, so the refresh lands in the login home.
 * As an agent identity (the executor's sandbox), which may not enter the login home, the run gets
 * copies instead and the runner writes a refreshed one back (login-sync.ts).
 *
 * The prompt goes to stdin: with stdin not a terminal gemini runs headless on it (checked), so a
 * prompt like "- fix the bug" is never an option and no argv limit applies.
 */
import { mkdir, symlink, writeFile } from "node:fs/promises";
import path from "node:path";
import type { AuthMode, RunError, RunResult, Tokens } from "@vault-mcp/contract";
import { z } from "zod";
import type { CliAdapter, CliRunInput } from "../interfaces.ts";
import { type PriceTable, priceUsage } from "../pricing.ts";
import { GEMINI_USAGE_LOG } from "../usage/session-logs.ts";
import { totalTokens } from "../usage/tracker.ts";
import {
  answer,
  baseResult,
  binary,
  childEnv,
  failedResult,
  kindForStatus,
  kindFromMessage,
  lastJsonObject,
  message,
  noPayload,
  processFailure,
} from "./common.ts";

const GEMINI_DEFAULT_BASE_URL = "https://generativelanguage.googleapis.com";
export const GEMINI_CODE_ASSIST_ENDPOINT = "https://cloudcode-pa.googleapis.com";
/** The files of a Google login in `<home>/.gemini/`, linked into each subscription run's home. */
export const GEMINI_LOGIN_FILES = ["oauth_creds.json", "google_accounts.json"] as const;

/**
 * The auth type is required with a base URL (else it is "gateway", refused headless); retries,
 * updates and telemetry off.
 */
export function geminiSettings(auth: AuthMode) {
  return {
    security: { auth: { selectedType: auth === "subscription" ? "oauth-personal" : "gemini-api-key" } },
    general: { maxAttempts: 1, enableAutoUpdate: false, enableAutoUpdateNotification: false },
    privacy: { usageStatisticsEnabled: false },
    telemetry: { enabled: false },
  };
}

export const GEMINI_POLICY = `# Written by vault-mcp for one headless run (with --approval-mode auto_edit).
[[rule]]
toolName = "run_shell_command"
decision = "allow"
priority = 100

[[rule]]
toolName = ["web_fetch", "google_web_search"]
decision = "deny"
priority = 100
`;

const count = z.number().int().nonnegative().catch(0);
const ModelStats = z.looseObject({
  tokens: z
    .looseObject({ prompt: count, candidates: count, cached: count, thoughts: count })
    .catch({ prompt: 0, candidates: 0, cached: 0, thoughts: 0 }),
});
const Success = z.looseObject({
  session_id: z.string().optional().catch(undefined),
  response: z.string(),
  stats: z
    .looseObject({ models: z.record(z.string(), ModelStats).catch({}) })
    .optional()
    .catch(undefined),
});
const Failure = z.looseObject({
  session_id: z.string().optional().catch(undefined),
  error: z.looseObject({ message: z.string(), code: z.union([z.number(), z.string()]).optional().catch(undefined) }),
});
type Failure = z.infer<typeof Failure>;

/** gemini's own fatal exit codes (FatalError subclasses in the bundle). */
const FATAL: Record<number, RunError["kind"]> = {
  41: "auth",
  42: "crash",
  // Sandbox, configuration and folder trust: our setup, not the model.
  44: "setup",
  52: "setup",
  53: "budget",
  54: "crash",
  55: "setup",
};

/** gemini exits with an API error's HTTP status & 255 (401 → 145, 429 → 173, 500 → 244). */
const HTTP_STATUSES = [401, 403, 429, 500, 502, 503, 504];

function kindOfExit(code: number): RunError["kind"] | undefined {
  const status = HTTP_STATUSES.find((s) => (s & 255) === code);
  return status !== undefined ? kindForStatus(status) : FATAL[code];
}

function errorOf(f: Failure, exitCode: number | null): RunError {
  const text = message(f.error.message);
  const code = typeof f.error.code === "number" ? f.error.code : Number.NaN;
  if (code >= 400 && code < 600) return { kind: kindForStatus(code), message: text };
  const fatal = FATAL[code] ?? (exitCode !== null ? FATAL[exitCode] : undefined);
  if (fatal) return { kind: fatal, message: text };
  // API errors carry the provider's JSON error inside the message.
  const inner = /"code":\s*([45]\d\d)\b/.exec(f.error.message)?.[1];
  if (inner) return { kind: kindForStatus(Number(inner)), message: text };
  return { kind: kindFromMessage(f.error.message), message: text };
}

/** Our token convention: Gemini's prompt count includes cached tokens; thoughts are billed as output. */
function tokensOf(m: z.infer<typeof ModelStats>): Tokens {
  const t = m.tokens;
  return {
    input: Math.max(0, t.prompt - t.cached),
    output: t.candidates + t.thoughts,
    cacheRead: t.cached,
    cacheWrite: 0,
  };
}

export function makeGemini(prices: PriceTable): CliAdapter {
  return {
    name: "gemini",
    stopsAtBudget: false,
    // Per run whatever the auth: only the login files are linked in.
    usageLog: () => GEMINI_USAGE_LOG,
    // Google's refresh tokens are reusable: sandboxed runs of one login need not take turns.
    loginFiles: (input) =>
      input.auth === "subscription" && input.sandboxed
        ? { files: GEMINI_LOGIN_FILES.map((f) => ({ login: `.gemini/${f}`, run: `.gemini/${f}` })), exclusive: false }
        : null,
    async prepare(input: CliRunInput) {
      const dir = `${input.home}/.gemini`;
      const subscription = input.auth === "subscription";
      await mkdir(`${dir}/policies`, { recursive: true, mode: 0o700 });
      await mkdir(`${input.home}/tmp`, { recursive: true, mode: 0o700 });
      await writeFile(`${dir}/settings.json`, JSON.stringify(geminiSettings(input.auth)), { mode: 0o600 });
      await writeFile(`${dir}/policies/vault.toml`, GEMINI_POLICY, { mode: 0o600 });
      // Linked, so a refresh lands in the login home; an agent identity gets copies instead (the runner's).
      if (subscription && !input.sandboxed)
        for (const name of GEMINI_LOGIN_FILES)
          await symlink(path.join(input.loginHome, ".gemini", name), path.join(dir, name));
      const endpoint: Record<string, string> = subscription
        ? { CODE_ASSIST_ENDPOINT: input.profileEnv.CODE_ASSIST_ENDPOINT || GEMINI_CODE_ASSIST_ENDPOINT }
        : { GOOGLE_GEMINI_BASE_URL: input.profileEnv.GOOGLE_GEMINI_BASE_URL || GEMINI_DEFAULT_BASE_URL };
      return {
        argv: [
          binary("gemini", input.profileEnv),
          "--output-format",
          "json",
          "-m",
          input.model,
          "--skip-trust",
          "--approval-mode",
          "auto_edit",
        ],
        stdin: input.prompt,
        env: childEnv(input, subscription ? ["GEMINI_API_KEY", "GOOGLE_GEMINI_BASE_URL"] : ["CODE_ASSIST_ENDPOINT"], {
          ...endpoint,
          GEMINI_CLI_HOME: input.home,
          GEMINI_CLI_NO_RELAUNCH: "true",
          GEMINI_CLI_TRUST_WORKSPACE: "true",
        }),
      };
    },

    parse(outcome, ctx): RunResult {
      const failed = processFailure("gemini", outcome);
      const failure = (error: RunError, sessionId: string | null = null) =>
        failedResult({ cli: "gemini", outcome, model: ctx.model, costSource: "computed", error, sessionId });
      if (failed) return failure(failed);
      const ok = outcome.exitCode === 0 ? Success.safeParse(lastJsonObject(outcome.stdout)) : null;
      if (ok?.success) {
        const usage = Object.entries(ok.data.stats?.models ?? {}).map(([model, m]) => ({ model, tokens: tokensOf(m) }));
        const main = [...usage].sort((a, b) => b.tokens.output - a.tokens.output)[0]?.model ?? ctx.model;
        return {
          ...baseResult("gemini", outcome, main),
          ok: true,
          ...answer(ok.data.response, outcome),
          // Side calls (routing, compression) may use other models: each is priced as itself.
          ...priceUsage(prices, usage),
          tokens: totalTokens(usage),
          sessionId: ok.data.session_id ?? null,
        };
      }
      const f = Failure.safeParse(lastJsonObject(outcome.stderr));
      if (f.success) return failure(errorOf(f.data, outcome.exitCode), f.data.session_id ?? null);
      // No error object (e.g. stderr cut at the cap before it): the exit code still tells the kind.
      const none = noPayload("gemini", outcome, "result JSON");
      const byExit = outcome.signal === null && outcome.exitCode !== null ? kindOfExit(outcome.exitCode) : undefined;
      return failure(byExit && none.kind === "crash" ? { ...none, kind: byExit } : none);
    },
  };
}
