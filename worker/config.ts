import { z } from "zod";

/** Typed failure for a misconfigured deployment: the wire gets a generic 500, logs get the field. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
  readonly code = "config_invalid";
}

const usd = z.coerce.number().nonnegative();

const ConfigSchema = z.object({
  EXECUTOR_URL: z.url(),
  PUBLIC_URL: z.url(),
  ALLOWED_ORIGINS: z.string().transform((s) =>
    s
      .split(",")
      .map((o) => o.trim())
      .filter(Boolean),
  ),
  MAX_BODY_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .max(10 * 1024 * 1024),
  BREAKER_TASK_WARN_USD: usd,
  BREAKER_TASK_HALT_USD: usd,
  BREAKER_DAY_BLOCK_USD: usd,
  BREAKER_MONTH_FLAG_USD: usd,
  LADDER: z.string().transform((s) =>
    s
      .split(",")
      .map((p) => p.trim())
      .filter(Boolean),
  ),
  JOB_TIMEOUT_MS: z.coerce.number().int().min(1000).max(3_600_000),
  VAULT_AUTH_TOKEN: z.string().min(1),
  EXECUTOR_SECRET: z.string().min(1),
  CALLBACK_SECRET: z.string().min(1),
});

export interface BreakerThresholds {
  taskWarnUsd: number;
  taskHaltUsd: number;
  dayBlockUsd: number;
  monthFlagUsd: number;
}

export interface Config {
  executorUrl: string;
  publicUrl: string;
  allowedOrigins: readonly string[];
  maxBodyBytes: number;
  breakers: BreakerThresholds;
  /** Profile names in climbing order; `human` is the last resort. */
  ladder: readonly string[];
  jobTimeoutMs: number;
  authToken: string;
  executorSecret: string;
  callbackSecret: string;
}

const cache = new WeakMap<object, Config>();

/** Parses the Worker's vars and secrets once per env object. */
export function getConfig(env: Env): Config {
  const hit = cache.get(env);
  if (hit) return hit;
  const parsed = ConfigSchema.safeParse(env);
  if (!parsed.success) {
    const fields = parsed.error.issues.map((i) => i.path.join(".")).join(", ");
    throw new ConfigError(`invalid or missing configuration: ${fields}`);
  }
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
    authToken: e.VAULT_AUTH_TOKEN,
    executorSecret: e.EXECUTOR_SECRET,
    callbackSecret: e.CALLBACK_SECRET,
  };
  cache.set(env, config);
  return config;
}
