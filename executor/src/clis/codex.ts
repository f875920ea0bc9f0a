/**
 * codex exec --json, always through a custom provider written to a per-run CODEX_HOME/config.toml:
 * the built-in provider ignores OPENAI_BASE_URL and tries WebSockets first. Retries are off in the
 * provider; an unreachable API still never ends codex, so the job timeout is what stops it.
 * Sandbox `workspace-write`: it may edit and run commands in the worktree only.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { z } from "zod";
import type { RunError, RunResult, Tokens } from "@vault-mcp/contract";
import type { CliAdapter, CliRunInput } from "../interfaces.ts";
import { computeCost, type PriceTable } from "../pricing.ts";
import { baseEnv, baseResult, clip, processFailure, stderrReason, ZERO_TOKENS } from "./common.ts";

const KEY_VAR = "VAULT_CODEX_API_KEY";

const Event = z.discriminatedUnion("type", [
  z.looseObject({ type: z.literal("thread.started"), thread_id: z.string() }),
  z.looseObject({ type: z.literal("turn.started") }),
  z.looseObject({ type: z.literal("item.started") }),
  z.looseObject({ type: z.literal("item.updated") }),
  z.looseObject({ type: z.literal("item.completed"), item: z.looseObject({ type: z.string(), text: z.string().optional(), message: z.string().optional() }) }),
  z.looseObject({
    type: z.literal("turn.completed"),
    usage: z.looseObject({
      input_tokens: z.number().int().nonnegative().default(0),
      cached_input_tokens: z.number().int().nonnegative().default(0),
      cache_write_input_tokens: z.number().int().nonnegative().default(0),
      output_tokens: z.number().int().nonnegative().default(0),
    }),
  }),
  z.looseObject({ type: z.literal("turn.failed"), error: z.looseObject({ message: z.string() }) }),
  z.looseObject({ type: z.literal("error"), message: z.string() }),
]);

const toml = (s: string) => JSON.stringify(s); // a JSON string is a valid TOML basic string

export function codexConfig(baseUrl: string): string {
  return [
    'model_provider = "vault"',
    "",
    "[model_providers.vault]",
    'name = "vault"',
    `base_url = ${toml(baseUrl)}`,
    `env_key = ${toml(KEY_VAR)}`,
    'wire_api = "responses"',
    "request_max_retries = 0",
    "stream_max_retries = 0",
    "",
  ].join("\n");
}

function kindOf(message: string): RunError["kind"] {
  if (/\b(401|403)\b|unauthori[sz]ed|forbidden|missing environment variable|api key/i.test(message)) return "auth";
  if (/\b429\b|rate limit|too many requests/i.test(message)) return "rate_limit";
  return "api";
}

export function makeCodex(prices: PriceTable): CliAdapter {
  return {
    name: "codex",
    async prepare(input: CliRunInput) {
      const codexHome = `${input.home}/.codex`;
      await mkdir(codexHome, { recursive: true });
      await mkdir(`${input.home}/tmp`, { recursive: true });
      await writeFile(`${codexHome}/config.toml`, codexConfig(input.profileEnv.CODEX_BASE_URL ?? "https://api.openai.com/v1"), { mode: 0o600 });
      return {
        argv: [input.profileEnv.CODEX_BIN ?? "codex", "exec", "--json", "--skip-git-repo-check", "--sandbox", "workspace-write", "-C", input.cwd, "-m", input.model, input.prompt],
        env: { ...baseEnv(input.home), CODEX_HOME: codexHome, ...(input.profileEnv.CODEX_API_KEY ? { [KEY_VAR]: input.profileEnv.CODEX_API_KEY } : {}) },
      };
    },
    parse(outcome, ctx): RunResult {
      const base = baseResult("codex", outcome, ctx.model);
      let sessionId: string | null = null;
      let text = "";
      let tokens: Tokens | null = null;
      let failure: string | null = null;
      let parsedAny = false;
      // Killed runs end mid-stream: take every complete line, ignore a torn last one.
      for (const line of outcome.stdout.split("\n")) {
        if (!line.trim().startsWith("{")) continue;
        let json: unknown;
        try {
          json = JSON.parse(line);
        } catch {
          continue;
        }
        const ev = Event.safeParse(json);
        if (!ev.success) continue;
        parsedAny = true;
        const e = ev.data;
        if (e.type === "thread.started") sessionId = e.thread_id;
        else if (e.type === "item.completed" && e.item.type === "agent_message" && e.item.text !== undefined) text = e.item.text;
        else if (e.type === "turn.completed")
          tokens = { input: e.usage.input_tokens, output: e.usage.output_tokens, cacheRead: e.usage.cached_input_tokens, cacheWrite: e.usage.cache_write_input_tokens };
        else if (e.type === "turn.failed") failure = e.error.message;
      }
      const usage = tokens ?? ZERO_TOKENS;
      const costUsd = computeCost(prices, ctx.model, usage, true);
      const error: RunError | undefined =
        processFailure(outcome) ??
        (failure !== null
          ? { kind: kindOf(failure), message: failure.slice(0, 2000) }
          : tokens === null
            ? parsedAny
              ? { kind: "crash", message: `codex ended without completing the turn (exit ${outcome.exitCode})` }
              : { kind: outcome.exitCode === 0 ? "bad_output" : "crash", message: stderrReason(outcome.stderr) || "no JSONL events on stdout" }
            : undefined);
      return { ...base, ok: error === undefined, text: clip(text), costUsd, costSource: "computed", tokens: usage, sessionId, ...(error ? { error } : {}) };
    },
  };
}
