/**
 * codex exec --json: JSONL events on stdout.
 *
 * Always through a custom provider written to a per-run CODEX_HOME/config.toml: the built-in
 * provider ignores OPENAI_BASE_URL and tries WebSockets first. Retries are off in the provider, but
 * an unreachable API still never ends codex ("Reconnecting… waiting for network"), so the job
 * timeout is what stops it and the run reads `timeout`.
 *
 * Sandbox `workspace-write` (the least that lets it edit and run tests): commands may write only
 * in the worktree and $TMPDIR (the per-run home), with no network. `exclude_slash_tmp` also takes
 * /tmp away, which workspace-write otherwise leaves writable (checked against the real CLI). exec
 * never asks for approval. When the executor's own sandbox runs codex as an agent identity, that
 * is its boundary, as for claude and gemini, and codex's is off (`danger-full-access`): its
 * bubblewrap needs user namespaces, which the systemd unit refuses. The repository's own .codex/config.toml is ignored: the project is not
 * trusted in our config (checked).
 *
 * Cost is computed: codex reports tokens only. Its input figure includes the cached tokens.
 */
import { mkdir, writeFile } from "node:fs/promises";
import type { RunError, RunResult, Tokens } from "@vault-mcp/contract";
import { z } from "zod";
import type { CliAdapter, CliRunInput, ProcessOutcome } from "../interfaces.ts";
import { computeCost, type PriceTable } from "../pricing.ts";
import {
  addTokens,
  baseResult,
  binary,
  childEnv,
  clip,
  failedResult,
  jsonLines,
  kindFromMessage,
  message,
  noPayload,
  processFailure,
  promptArg,
  stderrReason,
  ZERO_TOKENS,
} from "./common.ts";

/** The variable our provider reads the key from (the profile gives it as CODEX_API_KEY). */
export const CODEX_KEY_VAR = "VAULT_CODEX_API_KEY";
export const CODEX_DEFAULT_BASE_URL = "https://api.openai.com/v1";

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

export function codexConfig(baseUrl: string): string {
  return [
    'model_provider = "vault"',
    "check_for_update_on_startup = false",
    "",
    "[model_providers.vault]",
    'name = "vault"',
    `base_url = ${toml(baseUrl)}`,
    `env_key = ${toml(CODEX_KEY_VAR)}`,
    'wire_api = "responses"',
    "request_max_retries = 0",
    "stream_max_retries = 0",
    "",
    "[sandbox_workspace_write]",
    "network_access = false",
    "exclude_slash_tmp = true",
    "",
  ].join("\n");
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
    else if (e.type === "turn.completed") {
      const u = e.usage;
      // OpenAI counts cached tokens inside input_tokens; our convention keeps them apart.
      const t = {
        input: Math.max(0, u.input_tokens - u.cached_input_tokens - u.cache_write_input_tokens),
        output: u.output_tokens,
        cacheRead: u.cached_input_tokens,
        cacheWrite: u.cache_write_input_tokens,
      };
      s.tokens = addTokens(s.tokens ?? { ...ZERO_TOKENS }, t);
    } else if (e.type === "turn.failed") s.failure = e.error.message;
    else if (e.type === "error") s.lastError = e.message; // also "Reconnecting…" notices, which are not fatal
  }
  return s;
}

/** Success is a turn.completed; a turn.failed, or no ending at all, is not. */
function errorOf(outcome: ProcessOutcome, s: Scan): RunError | undefined {
  const failed = processFailure(outcome);
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
  return {
    kind: "crash",
    message: message(`codex ended without completing the turn (${how})${last ? `: ${last}` : ""}`),
  };
}

export function makeCodex(prices: PriceTable): CliAdapter {
  return {
    name: "codex",
    async prepare(input: CliRunInput) {
      const prompt = promptArg(input.prompt);
      const codexHome = `${input.home}/.codex`;
      await mkdir(codexHome, { recursive: true, mode: 0o700 });
      await mkdir(`${input.home}/tmp`, { recursive: true, mode: 0o700 });
      const baseUrl = input.profileEnv.CODEX_BASE_URL || CODEX_DEFAULT_BASE_URL;
      await writeFile(`${codexHome}/config.toml`, codexConfig(baseUrl), { mode: 0o600 });
      const key = input.profileEnv.CODEX_API_KEY;
      return {
        // `--` keeps a prompt that starts with "-" from being read as a flag.
        argv: [
          binary("codex", input.profileEnv),
          "exec",
          "--json",
          "--skip-git-repo-check",
          "--sandbox",
          input.sandboxed ? "danger-full-access" : "workspace-write",
          "-C",
          input.cwd,
          "-m",
          input.model,
          "--",
          prompt,
        ],
        env: childEnv(input, ["CODEX_API_KEY", "CODEX_BASE_URL"], {
          CODEX_HOME: codexHome,
          ...(key ? { [CODEX_KEY_VAR]: key } : {}),
        }),
      };
    },

    parse(outcome, ctx): RunResult {
      const s = scan(outcome.stdout);
      if (s.events === 0 && !processFailure(outcome))
        return failedResult("codex", outcome, ctx.model, "computed", noPayload("codex", outcome, "JSONL events"));
      const tokens = s.tokens ?? { ...ZERO_TOKENS };
      const error = errorOf(outcome, s);
      return {
        ...baseResult("codex", outcome, ctx.model),
        ok: error === undefined,
        text: clip(s.text),
        costUsd: computeCost(prices, ctx.model, tokens),
        costSource: "computed",
        tokens,
        sessionId: s.sessionId,
        ...(error ? { error } : {}),
      };
    },
  };
}
