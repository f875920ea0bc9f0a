/**
 * gemini -p --output-format json. Headless gemini offers the model its editing and shell tools only
 * with --yolo (auto_edit still withholds the shell, so it cannot run tests); there is no sandbox
 * here (it needs docker), so the worktree and the systemd unit are the boundary. One GEMINI_CLI_HOME
 * per run: a lock file left in a shared home stalls the next start by ~13 s. No relaunch, so a
 * SIGTERM reaches the real process; retries off (maxAttempts 1).
 */
import { mkdir, writeFile } from "node:fs/promises";
import { z } from "zod";
import type { RunError, RunResult, Tokens } from "@vault-mcp/contract";
import type { CliAdapter, CliRunInput } from "../interfaces.ts";
import { computeCost, type PriceTable } from "../pricing.ts";
import { baseEnv, baseResult, clip, kindForStatus, lastJsonObject, processFailure, stderrReason, ZERO_TOKENS } from "./common.ts";

export const GEMINI_SETTINGS = {
  security: { auth: { selectedType: "gemini-api-key" } },
  general: { maxAttempts: 1 },
  privacy: { usageStatisticsEnabled: false },
};

const ModelTokens = z.looseObject({
  prompt: z.number().int().nonnegative().default(0),
  candidates: z.number().int().nonnegative().default(0),
  cached: z.number().int().nonnegative().default(0),
});
const Success = z.looseObject({
  session_id: z.string().optional(),
  response: z.string(),
  stats: z.looseObject({ models: z.record(z.string(), z.looseObject({ tokens: ModelTokens })) }).optional(),
});
const Failure = z.looseObject({
  session_id: z.string().optional(),
  error: z.looseObject({ message: z.string(), code: z.union([z.number(), z.string()]).optional() }),
});

/** The HTTP status hidden in gemini's error: its `code`, or the JSON error text inside `message`. */
function statusOf(f: z.infer<typeof Failure>): number | null {
  if (typeof f.error.code === "number" && f.error.code >= 400) return f.error.code;
  const m = /"code":\s*(\d{3})/.exec(f.error.message);
  return m ? Number(m[1]) : null;
}

export function makeGemini(prices: PriceTable): CliAdapter {
  return {
    name: "gemini",
    async prepare(input: CliRunInput) {
      await mkdir(`${input.home}/.gemini`, { recursive: true });
      await mkdir(`${input.home}/tmp`, { recursive: true });
      await writeFile(`${input.home}/.gemini/settings.json`, JSON.stringify(GEMINI_SETTINGS), { mode: 0o600 });
      const pass: Record<string, string> = {};
      for (const k of ["GEMINI_API_KEY", "GOOGLE_GEMINI_BASE_URL"]) if (input.profileEnv[k]) pass[k] = input.profileEnv[k] as string;
      return {
        argv: [input.profileEnv.GEMINI_BIN ?? "gemini", "-p", input.prompt, "--output-format", "json", "-m", input.model, "--skip-trust", "--yolo"],
        env: { ...baseEnv(input.home), GEMINI_CLI_HOME: input.home, GEMINI_CLI_NO_RELAUNCH: "true", GEMINI_CLI_TRUST_WORKSPACE: "true", ...pass },
      };
    },
    parse(outcome, ctx): RunResult {
      const base = baseResult("gemini", outcome, ctx.model);
      const failed = processFailure(outcome);
      if (outcome.exitCode === 0 && !failed) {
        const ok = Success.safeParse(lastJsonObject(outcome.stdout));
        if (!ok.success) {
          return { ...base, ok: false, text: clip(outcome.stdout), costUsd: 0, costSource: "computed", tokens: ZERO_TOKENS, sessionId: null, error: { kind: "bad_output", message: "gemini exited 0 without its result JSON" } };
        }
        const models = Object.entries(ok.data.stats?.models ?? {});
        const tokens: Tokens = models.reduce(
          (acc, [, m]) => ({ input: acc.input + m.tokens.prompt, output: acc.output + m.tokens.candidates, cacheRead: acc.cacheRead + m.tokens.cached, cacheWrite: 0 }),
          ZERO_TOKENS,
        );
        const model = models[0]?.[0] ?? ctx.model;
        return { ...base, ok: true, text: clip(ok.data.response), costUsd: computeCost(prices, model, tokens, true), costSource: "computed", tokens, model, sessionId: ok.data.session_id ?? null };
      }
      const f = Failure.safeParse(lastJsonObject(outcome.stderr));
      let error: RunError;
      if (failed) error = failed;
      else if (f.success) {
        const status = statusOf(f.data);
        const message = f.data.error.message.slice(0, 2000);
        error = status !== null ? { kind: kindForStatus(status), message } : /api.?key|auth/i.test(message) ? { kind: "auth", message } : { kind: "api", message };
      } else error = { kind: "crash", message: stderrReason(outcome.stderr) || `gemini exited ${outcome.exitCode}` };
      return { ...base, ok: false, text: "", costUsd: 0, costSource: "computed", tokens: ZERO_TOKENS, sessionId: f.success ? (f.data.session_id ?? null) : null, error };
    },
  };
}
