/**
 * The Worker's vars and secrets, parsed once at the edge into typed config. A bad value fails here,
 * naming the variable (and for LADDER the bad entry), instead of deep inside a workflow step.
 */
import { type BreakerThresholds, HUMAN, ProfileName, type Rung } from "@vault-mcp/contract";
import { z } from "zod";
import { ConfigError } from "./errors.ts";

const usd = z.coerce.number().nonnegative();

const list = (s: string): string[] =>
  s
    .split(",")
    .map((p) => p.trim())
    .filter(Boolean);

/** `deepseek,gemini-flash,…,human`: known profile names, each once, `human` only last. */
export const Ladder = z
  .string()
  .transform(list)
  .pipe(
    z
      .array(z.string())
      .min(1, "LADDER is empty; list profiles in climbing order, e.g. 'deepseek,sonnet,opus,consensus,human'")
      .superRefine((entries, ctx) => {
        for (const [i, entry] of entries.entries()) {
          if (entry === HUMAN ? i !== entries.length - 1 : !ProfileName.safeParse(entry).success) {
            const known = [...ProfileName.options, HUMAN].join(", ");
            ctx.addIssue({
              code: "custom",
              message:
                entry === HUMAN ? "'human' may only be the last rung" : `unknown profile '${entry}' (known: ${known})`,
            });
          }
          if (entries.indexOf(entry) !== i) ctx.addIssue({ code: "custom", message: `'${entry}' appears twice` });
        }
      })
      .transform((entries) => entries as Rung[]),
  );

const ConfigSchema = z.object({
  EXECUTOR_URL: z.url(),
  PUBLIC_URL: z.url(),
  ALLOWED_ORIGINS: z.string().transform(list),
  MAX_BODY_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .max(10 * 1024 * 1024),
  BREAKER_TASK_WARN_USD: usd,
  BREAKER_TASK_HALT_USD: usd,
  BREAKER_DAY_BLOCK_USD: usd,
  BREAKER_MONTH_FLAG_USD: usd,
  LADDER: Ladder,
  JOB_TIMEOUT_MS: z.coerce.number().int().min(1000).max(3_600_000),
  // Optional with defaults, so a deployment whose wrangler.toml predates them still starts.
  EXECUTE_RATE_PER_MINUTE: z.coerce.number().int().min(1).max(100_000).default(30),
  MAX_ACTIVE_TASKS: z.coerce.number().int().min(1).max(100_000).default(20),
  EXECUTOR_LEASE_MS: z.coerce.number().int().min(1_000).max(600_000).default(15_000),
  OAUTH_REDIRECT_ALLOW: z.string().default("").transform(list),
  VAULT_AUTH_TOKEN: z.string().min(1),
  EXECUTOR_SECRET: z.string().min(1),
  CALLBACK_SECRET: z.string().min(1),
  // Optional so a Worker used only with the static bearer (Claude Code, scripts) still starts; without
  // it the consent page refuses every sign-in and says how to set it.
  OWNER_SECRET: z.preprocess(
    (v) => (v === "" ? undefined : v),
    z.string().min(16, "must be at least 16 characters").optional(),
  ),
});

export interface Config {
  executorUrl: string;
  publicUrl: string;
  allowedOrigins: readonly string[];
  maxBodyBytes: number;
  breakers: BreakerThresholds;
  /** Rungs in climbing order; `human`, when present, is the last. */
  ladder: readonly Rung[];
  jobTimeoutMs: number;
  /** Task starts (execute, replay) per caller per minute. */
  executeRatePerMinute: number;
  /** Started tasks not yet finished nor waiting for an answer, beyond which a start is refused. */
  maxActiveTasks: number;
  /**
   * How long an executor of the pool may go without a heartbeat before it gets no new job and its
   * running jobs are dispatched again elsewhere (executors heartbeat every few seconds).
   */
  leaseMs: number;
  /** Redirect URIs (exact, or an origin for every path under it) an OAuth error may be sent to. */
  oauthRedirectAllow: readonly string[];
  authToken: string;
  executorSecret: string;
  callbackSecret: string;
  /** What the owner types on the OAuth consent page; undefined when not set (OAuth sign-in refused). */
  ownerSecret: string | undefined;
}

const cache = new WeakMap<object, Config>();

/** `LADDER: unknown profile 'sonet' (known: …)` — the variable and what is wrong with it, never a value of a secret. */
function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((i) => {
      const name = String(i.path[0] ?? "config");
      return name === "LADDER" || name === "OWNER_SECRET" ? `${name}: ${i.message}` : name;
    })
    .join("; ");
}

/** Parses the Worker's vars and secrets once per env object. */
export function getConfig(env: Env): Config {
  const hit = cache.get(env);
  if (hit) return hit;
  const parsed = ConfigSchema.safeParse(env);
  if (!parsed.success) throw new ConfigError(`invalid or missing configuration: ${describeIssues(parsed.error)}`);
  const e = parsed.data;
  const config: Config = {
    executorUrl: e.EXECUTOR_URL.replace(/\/+$/, ""),
    publicUrl: e.PUBLIC_URL.replace(/\/+$/, ""),
    allowedOrigins: e.ALLOWED_ORIGINS,
    maxBodyBytes: e.MAX_BODY_BYTES,
    breakers: {
      taskWarnUsd: e.BREAKER_TASK_WARN_USD,
      taskHaltUsd: e.BREAKER_TASK_HALT_USD,
      dayBlockUsd: e.BREAKER_DAY_BLOCK_USD,
      monthFlagUsd: e.BREAKER_MONTH_FLAG_USD,
    },
    ladder: e.LADDER,
    jobTimeoutMs: e.JOB_TIMEOUT_MS,
    executeRatePerMinute: e.EXECUTE_RATE_PER_MINUTE,
    maxActiveTasks: e.MAX_ACTIVE_TASKS,
    leaseMs: e.EXECUTOR_LEASE_MS,
    oauthRedirectAllow: e.OAUTH_REDIRECT_ALLOW,
    authToken: e.VAULT_AUTH_TOKEN,
    executorSecret: e.EXECUTOR_SECRET,
    callbackSecret: e.CALLBACK_SECRET,
    ownerSecret: e.OWNER_SECRET,
  };
  cache.set(env, config);
  return config;
}
