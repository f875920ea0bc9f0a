/**
 * codex exec --json: JSONL events on stdout.
 *
 * Config: `--ignore-user-config` and every setting as a `-c key=value` override, so nothing of a
 * config.toml in CODEX_HOME applies and the executor writes no file there:
 *  - a custom provider (the built-in one ignores OPENAI_BASE_URL and tries WebSockets first), HTTP
 *    SSE only, retries off. An unreachable API still never ends codex ("Reconnecting… waiting for
 *    network"), so the job timeout is what stops it and the run reads `timeout`.
 *  - sandbox `workspace-write` (the least that lets it edit and run tests): commands may write only
 *    in the worktree and $TMPDIR (the per-run home), with no network. `exclude_slash_tmp` also takes
 *    /tmp away, which workspace-write otherwise leaves writable (checked against the real CLI). exec
 *    never asks for approval. The repository's own .codex/config.toml is ignored: the project is not
 *    trusted (trust lives in the user config, which is ignored).
 *  - its state database and logs in the per-run home (`sqlite_home`, `log_dir`).
 *
 * Auth:
 *  - `api_key`: CODEX_HOME is the per-run home; the provider reads the key from VAULT_CODEX_API_KEY.
 *  - `subscription`: CODEX_HOME is the persistent login home (`codex login --device-auth` made its
 *    auth.json there), never a copy: codex refreshes the ChatGPT tokens itself and writes them back
 *    (under its own lock), and OpenAI's refresh tokens are single-use, so a copy would lose the login
 *    at the first refresh. The provider then uses that login (`requires_openai_auth`), credentials from
 *    the file store, the ChatGPT connectors off (they would reach chatgpt.com on their own), and
 *    `--ephemeral`: no session file of the run lands in the shared home. Without one, nothing logs
 *    usage while it runs, so a subscription codex run's budget holds between runs only.
 *  - `subscription` as an agent identity (the executor's sandbox, AGENT_SANDBOX=on): the identity
 *    may not enter the executor's login home, so the run gets a copy of auth.json in its own
 *    CODEX_HOME (and logs usage there like an API-key run); the runner writes a token codex refreshed
 *    back to the login home after the run, and runs of one codex login take turns (login-sync.ts), so
 *    two copies of a single-use refresh token are never in use at once.
 *
 * When the executor's own sandbox runs codex as an agent identity, that is its boundary, as for
 * claude and gemini, and codex's is off (`danger-full-access`): its bubblewrap needs user
 * namespaces, which the systemd unit refuses.
 *
 * The prompt is read from stdin (`-` as the prompt argument, after `--`). Cost is computed: codex
 * reports tokens only. Its input figure includes the cached tokens.
 */
import { mkdir } from "node:fs/promises";
import type { AuthMode, RunError, RunResult, Tokens } from "@vault-mcp/contract";
import { z } from "zod";
import type { CliAdapter, CliRunInput, ProcessOutcome } from "../interfaces.ts";
import { type PriceTable, priceUsage } from "../pricing.ts";
import { addTokens, openAiTokens, ZERO_TOKENS } from "../tokens.ts";
import { CODEX_USAGE_LOG } from "../usage/session-logs.ts";
import {
  answer,
  baseResult,
  binary,
  childEnv,
  failedResult,
  jsonLines,
  kindFromMessage,
  message,
  noPayload,
  processFailure,
  stderrReason,
} from "./common.ts";

/** The variable our provider reads the key from (the profile gives it as CODEX_API_KEY). */
export const CODEX_KEY_VAR = "VAULT_CODEX_API_KEY";
const CODEX_DEFAULT_BASE_URL = "https://api.openai.com/v1";
/** Where codex itself sends a ChatGPT login's requests. */
export const CODEX_SUBSCRIPTION_BASE_URL = "https://chatgpt.com/backend-api/codex";

const count = z.number().int().nonnegative().catch(0);
const Event = z.discriminatedUnion("type", [
  z.looseObject({ type: z.literal("thread.started"), thread_id: z.string() }),
  z.looseObject({
    type: z.literal("item.completed"),
    item: z.looseObject({ type: z.string(), text: z.string().optional().catch(undefined) }),
  }),
  z.looseObject({
    type: z.literal("turn.completed"),
    usage: z
      .looseObject({
        input_tokens: count,
        cached_input_tokens: count,
        cache_write_input_tokens: count,
        output_tokens: count,
      })
      .catch({
        input_tokens: 0,
        cached_input_tokens: 0,
        cache_write_input_tokens: 0,
        output_tokens: 0,
      }),
  }),
  z.looseObject({
    type: z.literal("turn.failed"),
    error: z.looseObject({ message: z.string() }).catch({ message: "turn failed" }),
  }),
  z.looseObject({ type: z.literal("error"), message: z.string() }),
]);

const toml = (s: string) => JSON.stringify(s); // a JSON string is a valid TOML basic string

/** The run's whole configuration as `-c key=value` arguments (each value is TOML). */
export function codexOverrides(o: { baseUrl: string; auth: AuthMode; runHome: string }): string[] {
  const settings: [string, string][] = [
    ["model_provider", toml("vault")],
    ["model_providers.vault.name", toml("vault")],
    ["model_providers.vault.base_url", toml(o.baseUrl)],
    ["model_providers.vault.wire_api", toml("responses")],
    ["model_providers.vault.request_max_retries", "0"],
    ["model_providers.vault.stream_max_retries", "0"],
    ...(o.auth === "subscription"
      ? ([
          ["model_providers.vault.requires_openai_auth", "true"],
          ["cli_auth_credentials_store", toml("file")],
          ["features.apps", "false"],
        ] as [string, string][])
      : ([["model_providers.vault.env_key", toml(CODEX_KEY_VAR)]] as [string, string][])),
    ["check_for_update_on_startup", "false"],
    ["sandbox_workspace_write.network_access", "false"],
    ["sandbox_workspace_write.exclude_slash_tmp", "true"],
    ["sqlite_home", toml(`${o.runHome}/codex-state`)],
    ["log_dir", toml(`${o.runHome}/codex-log`)],
  ];
  return settings.flatMap(([k, v]) => ["-c", `${k}=${v}`]);
}

interface Scan {
  sessionId: string | null;
  text: string;
  tokens: Tokens | null;
  failure: string | null;
  lastError: string | null;
  events: number;
}

function scan(stdout: string): Scan {
  const s: Scan = { sessionId: null, text: "", tokens: null, failure: null, lastError: null, events: 0 };
  for (const json of jsonLines(stdout)) {
    const ev = Event.safeParse(json);
    if (!ev.success) {
      if (typeof json === "object" && json !== null && "type" in json) s.events++; // an event type we do not read
      continue;
    }
    s.events++;
    const e = ev.data;
    if (e.type === "thread.started") s.sessionId = e.thread_id;
    else if (e.type === "item.completed" && e.item.type === "agent_message" && e.item.text !== undefined)
      s.text = e.item.text;
    else if (e.type === "turn.completed") s.tokens = addTokens(s.tokens ?? { ...ZERO_TOKENS }, openAiTokens(e.usage));
    else if (e.type === "turn.failed") s.failure = e.error.message;
    else if (e.type === "error") s.lastError = e.message; // also "Reconnecting…" notices, which are not fatal
  }
  return s;
}

/** Success is a turn.completed; a turn.failed, or no ending at all, is not. */
function errorOf(outcome: ProcessOutcome, s: Scan): RunError | undefined {
  const failed = processFailure("codex", outcome);
  if (failed?.kind === "timeout" && s.lastError)
    return { kind: "timeout", message: message(`${failed.message}; last notice: ${s.lastError}`) };
  if (failed) return failed;
  if (s.failure !== null) return { kind: kindFromMessage(s.failure), message: message(s.failure) };
  if (s.tokens !== null) return undefined;
  const how = outcome.signal ? `killed by ${outcome.signal}` : `exit ${outcome.exitCode}`;
  if (outcome.stdoutTruncated)
    return { kind: "bad_output", message: `codex output was cut at the output cap before the turn ended (${how})` };
  if (s.lastError && !outcome.signal) return { kind: kindFromMessage(s.lastError), message: message(s.lastError) };
  const last = s.lastError ?? stderrReason(outcome.stderr);
  // Our flags or overrides refused: a setup problem, whatever the model.
  if (/error loading config|unexpected argument|invalid value/i.test(outcome.stderr))
    return { kind: "setup", message: message(`codex refused its configuration: ${last}`) };
  return {
    kind: "crash",
    message: message(`codex ended without completing the turn (${how})${last ? `: ${last}` : ""}`),
  };
}

export function makeCodex(prices: PriceTable): CliAdapter {
  return {
    name: "codex",
    stopsAtBudget: false,
    // In the shared login home the run is --ephemeral: no session log to follow there.
    usageLog: (auth, sandboxed) => (auth === "api_key" || sandboxed ? CODEX_USAGE_LOG : null),
    loginFiles: (input) =>
      input.auth === "subscription" && input.sandboxed
        ? { files: [{ login: "auth.json", run: ".codex/auth.json" }], exclusive: true }
        : null,
    async prepare(input: CliRunInput) {
      const subscription = input.auth === "subscription";
      const inLoginHome = subscription && !input.sandboxed;
      const codexHome = inLoginHome ? input.loginHome : `${input.home}/.codex`;
      if (!inLoginHome) await mkdir(codexHome, { recursive: true, mode: 0o700 });
      await mkdir(`${input.home}/tmp`, { recursive: true, mode: 0o700 });
      const baseUrl =
        input.profileEnv.CODEX_BASE_URL || (subscription ? CODEX_SUBSCRIPTION_BASE_URL : CODEX_DEFAULT_BASE_URL);
      const key = input.profileEnv.CODEX_API_KEY;
      return {
        argv: [
          binary("codex", input.profileEnv),
          "exec",
          "--json",
          "--skip-git-repo-check",
          "--ignore-user-config",
          ...(inLoginHome ? ["--ephemeral"] : []),
          "--sandbox",
          input.sandboxed ? "danger-full-access" : "workspace-write",
          "-C",
          input.cwd,
          "-m",
          input.model,
          ...codexOverrides({ baseUrl, auth: input.auth, runHome: input.home }),
          // `-` reads the prompt from stdin; `--` first, so nothing after it is an option.
          "--",
          "-",
        ],
        stdin: input.prompt,
        env: childEnv(input, ["CODEX_API_KEY", "CODEX_BASE_URL"], {
          CODEX_HOME: codexHome,
          ...(key && !subscription ? { [CODEX_KEY_VAR]: key } : {}),
        }),
      };
    },

    parse(outcome, ctx): RunResult {
      const s = scan(outcome.stdout);
      if (s.events === 0 && !processFailure("codex", outcome))
        return failedResult({
          cli: "codex",
          outcome,
          model: ctx.model,
          costSource: "computed",
          error: noPayload("codex", outcome, "JSONL events"),
        });
      const tokens = s.tokens ?? { ...ZERO_TOKENS };
      const error = errorOf(outcome, s);
      return {
        ...baseResult("codex", outcome, ctx.model),
        ok: error === undefined,
        ...answer(s.text, outcome),
        ...priceUsage(prices, [{ model: ctx.model, tokens }]),
        tokens,
        sessionId: s.sessionId,
        ...(error ? { error } : {}),
      };
    },
  };
}
