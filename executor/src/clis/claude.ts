/**
 * claude -p (headless) with --output-format json. Runs in `acceptEdits` with an allowlist of tools:
 * as root the CLI refuses its permission bypass, and edits plus Bash inside the worktree are all a
 * coding task needs. Retries are off (CLAUDE_CODE_MAX_RETRIES=0): the ladder decides what is next.
 */
import { mkdir } from "node:fs/promises";
import { z } from "zod";
import type { RunError, RunResult } from "@vault-mcp/contract";
import type { CliAdapter, CliRunInput } from "../interfaces.ts";
import { baseEnv, baseResult, clip, kindForStatus, lastJsonObject, processFailure, stderrReason, ZERO_TOKENS } from "./common.ts";

export const CLAUDE_ALLOWED_TOOLS = "Bash Edit Write Read Glob Grep";
export const CLAUDE_MAX_TURNS = "40";

const ClaudeResult = z.looseObject({
  type: z.literal("result"),
  subtype: z.string(),
  is_error: z.boolean(),
  result: z.string().nullable().optional(),
  session_id: z.string().optional(),
  total_cost_usd: z.number().nonnegative().optional(),
  api_error_status: z.number().nullable().optional(),
  errors: z.array(z.string()).optional(),
  usage: z
    .looseObject({
      input_tokens: z.number().int().nonnegative().default(0),
      output_tokens: z.number().int().nonnegative().default(0),
      cache_read_input_tokens: z.number().int().nonnegative().default(0),
      cache_creation_input_tokens: z.number().int().nonnegative().default(0),
    })
    .optional(),
  modelUsage: z.record(z.string(), z.looseObject({ inputTokens: z.number().optional(), outputTokens: z.number().optional(), cacheReadInputTokens: z.number().optional(), cacheCreationInputTokens: z.number().optional() })).optional(),
});

function errorOf(r: z.infer<typeof ClaudeResult>): RunError | undefined {
  if (!r.is_error) return undefined;
  const message = (r.result ?? r.errors?.join("; ") ?? r.subtype).slice(0, 2000);
  if (r.subtype === "error_max_budget_usd" || r.subtype === "error_max_turns") return { kind: "budget", message };
  if (typeof r.api_error_status === "number") return { kind: kindForStatus(r.api_error_status), message };
  if (/not logged in|invalid api key|authenticat/i.test(message)) return { kind: "auth", message };
  if (/API Error/i.test(message)) return { kind: "api", message };
  return { kind: "crash", message };
}

export const claude: CliAdapter = {
  name: "claude",
  async prepare(input: CliRunInput) {
    await mkdir(`${input.home}/.claude`, { recursive: true });
    await mkdir(`${input.home}/tmp`, { recursive: true });
    return {
      argv: [
        input.profileEnv.CLAUDE_BIN ?? "claude",
        "-p",
        input.prompt,
        "--output-format",
        "json",
        "--model",
        input.model,
        "--max-turns",
        CLAUDE_MAX_TURNS,
        "--permission-mode",
        "acceptEdits",
        "--allowedTools",
        CLAUDE_ALLOWED_TOOLS,
      ],
      env: {
        ...baseEnv(input.home),
        CLAUDE_CONFIG_DIR: `${input.home}/.claude`,
        CLAUDE_CODE_MAX_RETRIES: "0",
        CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1",
        DISABLE_TELEMETRY: "1",
        DISABLE_AUTOUPDATER: "1",
        ...pick(input.profileEnv, ["ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_BASE_URL"]),
      },
    };
  },
  parse(outcome, ctx): RunResult {
    const base = baseResult("claude", outcome, ctx.model);
    const failed = processFailure(outcome);
    const parsed = ClaudeResult.safeParse(lastJsonObject(outcome.stdout));
    if (!parsed.success) {
      const error = failed ?? { kind: outcome.exitCode === 0 ? "bad_output" : "crash", message: stderrReason(outcome.stderr) || `no result JSON (exit ${outcome.exitCode})` };
      return { ...base, ok: false, text: clip(outcome.stdout), costUsd: 0, costSource: "reported", tokens: ZERO_TOKENS, sessionId: null, error: error as RunError };
    }
    const r = parsed.data;
    const u = r.usage;
    const error = failed ?? errorOf(r);
    return {
      ...base,
      ok: error === undefined,
      text: clip(r.result ?? ""),
      costUsd: r.total_cost_usd ?? 0,
      costSource: "reported",
      tokens: u ? { input: u.input_tokens, output: u.output_tokens, cacheRead: u.cache_read_input_tokens, cacheWrite: u.cache_creation_input_tokens } : ZERO_TOKENS,
      model: Object.keys(r.modelUsage ?? {})[0] ?? ctx.model,
      sessionId: r.session_id ?? null,
      ...(error ? { error } : {}),
    };
  },
};

export function pick(env: Readonly<Record<string, string>>, keys: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of keys) if (env[k] !== undefined) out[k] = env[k] as string;
  return out;
}
