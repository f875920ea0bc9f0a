/**
 * claude -p (headless), --output-format json: one result object on stdout.
 *
 * Permissions, the least that still lets the agent edit and test inside its worktree:
 *  - `--permission-mode acceptEdits`: file edits are approved inside the working directory only
 *    (edits elsewhere would need a prompt, and in -p mode a prompt is an automatic denial).
 *  - `--allowedTools Bash`: without it acceptEdits still denies anything beyond simple filesystem
 *    commands, e.g. `node -e …` or `npm test` (checked against the real CLI). Edit/Write are not
 *    listed: a bare `Edit` rule would approve edits outside the worktree too.
 *  - no bypass: as root the CLI refuses `--dangerously-skip-permissions` / bypassPermissions anyway.
 *  - `--setting-sources user` (the per-run, empty CLAUDE_CONFIG_DIR) and `--strict-mcp-config`: the
 *    repository's .claude/settings.json and .mcp.json are ignored. A project settings file can set
 *    `env.ANTHROPIC_BASE_URL` and send our key elsewhere (checked: it does, without this flag).
 * Retries are off (CLAUDE_CODE_MAX_RETRIES=0, else ~3 min of backoff): the ladder decides what is next.
 *
 * The prompt goes to stdin (`-p` with no prompt argument reads it): a prompt like "- fix the bug" is
 * never read as an option, and no argv limit (128 KiB per argument) applies.
 * Auth: `api_key` passes the profile's ANTHROPIC_API_KEY; `subscription` passes CLAUDE_CODE_OAUTH_TOKEN
 * (a long-lived token from `claude setup-token`, sent as `Authorization: Bearer`) and no API key, which
 * would win over it. Budget: `--max-budget-usd`; claude checks it after each model turn and ends with
 * `error_max_budget_usd` (kind `budget`).
 *
 * Cost: claude reports each model's cost from its own price list (`modelUsage[m].costUSD`). For a model
 * it does not know (DeepSeek behind ANTHROPIC_BASE_URL) it says `costBasis: "unknown"` and guesses;
 * then our table prices it (pricing.ts, priceUsage: the same function every other path uses).
 */
import { mkdir } from "node:fs/promises";
import type { RunError, RunResult, Tokens } from "@vault-mcp/contract";
import { z } from "zod";
import type { CliAdapter, CliRunInput } from "../interfaces.ts";
import { type PriceTable, priceUsage } from "../pricing.ts";
import { CLAUDE_OAUTH_TOKEN_VAR } from "../profiles.ts";
import { addTokens, anthropicTokens, ZERO_TOKENS } from "../tokens.ts";
import { CLAUDE_USAGE_LOG } from "../usage/session-logs.ts";
import {
  API_KEY_VARS,
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

const CLAUDE_ALLOWED_TOOLS = "Bash";
/** Model turns per run; a runaway loop ends as `budget` well before the job timeout. */
const CLAUDE_MAX_TURNS = 40;

const count = z.number().int().nonnegative().catch(0);

const ModelUsage = z.looseObject({
  inputTokens: count,
  outputTokens: count,
  cacheReadInputTokens: count,
  cacheCreationInputTokens: count,
  costUSD: z.number().nonnegative().optional().catch(undefined),
  costBasis: z.string().optional().catch(undefined),
});

const ClaudeResult = z.looseObject({
  type: z.literal("result"),
  subtype: z.string(),
  is_error: z.boolean(),
  result: z.string().nullable().optional(),
  session_id: z.string().optional(),
  total_cost_usd: z.number().nonnegative().optional().catch(undefined),
  api_error_status: z.number().int().nullable().optional().catch(null),
  errors: z.array(z.string()).optional().catch(undefined),
  usage: z
    .looseObject({
      input_tokens: count,
      output_tokens: count,
      cache_read_input_tokens: count,
      cache_creation_input_tokens: count,
    })
    .optional()
    .catch(undefined),
  modelUsage: z.record(z.string(), ModelUsage).optional().catch(undefined),
});
type ClaudeResult = z.infer<typeof ClaudeResult>;

function modelTokens(m: z.infer<typeof ModelUsage>): Tokens {
  return {
    input: m.inputTokens,
    output: m.outputTokens,
    cacheRead: m.cacheReadInputTokens,
    cacheWrite: m.cacheCreationInputTokens,
  };
}

function errorOf(r: ClaudeResult): RunError | undefined {
  if (!r.is_error) return undefined;
  const text = message(r.result ?? (r.errors?.length ? r.errors.join("; ") : r.subtype));
  if (r.subtype === "error_max_budget_usd") return { kind: "budget", message: text };
  if (r.subtype === "error_max_turns") return { kind: "turns", message: text };
  // API errors keep subtype "success" with is_error true; other error_* subtypes are the CLI's own failures.
  if (typeof r.api_error_status === "number") return { kind: kindForStatus(r.api_error_status), message: text };
  if (r.subtype.startsWith("error_")) return { kind: "crash", message: text };
  return { kind: kindFromMessage(text), message: text };
}

function tokensOf(r: ClaudeResult): Tokens {
  if (r.usage) return anthropicTokens(r.usage);
  return Object.values(r.modelUsage ?? {}).reduce<Tokens>((t, m) => addTokens(t, modelTokens(m)), { ...ZERO_TOKENS });
}

/**
 * Each model at what claude reported for it, unless claude had to guess its price (a model it does not
 * know): that one at ours. A result without modelUsage is its total, for the model asked for.
 */
function costOf(
  r: ClaudeResult,
  prices: PriceTable,
  fallbackModel: string,
  tokens: Tokens,
): Pick<RunResult, "costUsd" | "costSource"> {
  const models = Object.entries(r.modelUsage ?? {});
  if (models.length === 0)
    return priceUsage(prices, [
      { model: fallbackModel, tokens, ...(r.total_cost_usd !== undefined ? { reportedUsd: r.total_cost_usd } : {}) },
    ]);
  return priceUsage(
    prices,
    models.map(([model, m]) => ({
      model,
      tokens: modelTokens(m),
      ...(m.costBasis !== "unknown" && m.costUSD !== undefined ? { reportedUsd: m.costUSD } : {}),
    })),
  );
}

/** The model that did the work: the one with the most output (claude may call a small model on the side). */
function mainModel(r: ClaudeResult, fallback: string): string {
  const models = Object.entries(r.modelUsage ?? {});
  models.sort((a, b) => b[1].outputTokens - a[1].outputTokens);
  return models[0]?.[0] ?? fallback;
}

export function makeClaude(prices: PriceTable): CliAdapter {
  return {
    name: "claude",
    stopsAtBudget: true,
    // Per run (CLAUDE_CONFIG_DIR is in the run's home) whatever the auth: the token comes by env.
    usageLog: () => CLAUDE_USAGE_LOG,
    // Its subscription is a token in the environment: nothing to copy.
    loginFiles: () => null,
    async prepare(input: CliRunInput) {
      const configDir = `${input.home}/.claude`;
      await mkdir(configDir, { recursive: true, mode: 0o700 });
      await mkdir(`${input.home}/tmp`, { recursive: true, mode: 0o700 });
      return {
        argv: [
          binary("claude", input.profileEnv),
          "-p",
          "--output-format",
          "json",
          "--model",
          input.model,
          "--max-turns",
          String(CLAUDE_MAX_TURNS),
          "--permission-mode",
          "acceptEdits",
          "--allowedTools",
          CLAUDE_ALLOWED_TOOLS,
          "--setting-sources",
          "user",
          "--strict-mcp-config",
          ...(input.maxBudgetUsd !== undefined ? ["--max-budget-usd", String(input.maxBudgetUsd)] : []),
        ],
        stdin: input.prompt,
        // Each kind of credential: the other kind's variables are never passed.
        env: childEnv(input, input.auth === "subscription" ? API_KEY_VARS.claude : [CLAUDE_OAUTH_TOKEN_VAR], {
          CLAUDE_CONFIG_DIR: configDir,
          CLAUDE_CODE_MAX_RETRIES: "0",
          CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1",
          DISABLE_TELEMETRY: "1",
          DISABLE_AUTOUPDATER: "1",
          DISABLE_ERROR_REPORTING: "1",
        }),
      };
    },

    parse(outcome, ctx): RunResult {
      const failed = processFailure("claude", outcome);
      const parsed = ClaudeResult.safeParse(lastJsonObject(outcome.stdout));
      if (!parsed.success)
        return failedResult({
          cli: "claude",
          outcome,
          model: ctx.model,
          costSource: "reported",
          error: failed ?? noPayload("claude", outcome, "result JSON"),
        });
      const r = parsed.data;
      const tokens = tokensOf(r);
      const error = failed ?? errorOf(r);
      return {
        ...baseResult("claude", outcome, mainModel(r, ctx.model)),
        ok: error === undefined,
        ...answer(r.result ?? "", outcome),
        ...costOf(r, prices, ctx.model, tokens),
        tokens,
        sessionId: r.session_id ?? null,
        ...(error ? { error } : {}),
      };
    },
  };
}
