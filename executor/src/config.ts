/** The executor's configuration, from its environment (the systemd EnvironmentFile in production). */
import path from "node:path";
import { z } from "zod";

const ms = (fallback: number) => z.coerce.number().int().positive().default(fallback);
const list = z
  .string()
  .default("")
  .transform((s) => s.split(",").map((x) => x.trim()).filter(Boolean));

const Schema = z.object({
  HOST: z.string().default("127.0.0.1"),
  PORT: z.coerce.number().int().min(0).max(65535).default(28788),
  EXECUTOR_SECRET: z.string().min(16, "EXECUTOR_SECRET must be at least 16 characters"),
  CALLBACK_SECRET: z.string().min(16, "CALLBACK_SECRET must be at least 16 characters"),
  MAX_EXECUTORS: z.coerce.number().int().min(1).max(64).default(2),
  MAX_QUEUE: z.coerce.number().int().min(0).max(10_000).default(8),
  DEFAULT_TIMEOUT_MS: ms(180_000),
  MAX_TIMEOUT_MS: ms(1_800_000),
  KILL_GRACE_MS: ms(5_000),
  VERIFY_TIMEOUT_MS: ms(300_000),
  SHUTDOWN_GRACE_MS: ms(20_000),
  KEEP_FAILED_MS: ms(24 * 3_600_000),
  DATA_DIR: z.string().default("/var/lib/vault-executor"),
  REPOS_DIR: z.string().optional(),
  WORKTREES_DIR: z.string().optional(),
  REPO_ALLOWLIST: list,
  WORKTREE_POOL: z.coerce.number().int().min(0).max(16).default(2),
  PROFILES_FILE: z.string().optional(),
  PRICES_FILE: z.string().optional(),
  CLAUDE_BIN: z.string().default("claude"),
  CODEX_BIN: z.string().default("codex"),
  GEMINI_BIN: z.string().default("gemini"),
  LOG_LEVEL: z.enum(["debug", "info", "warn", "error"]).default("info"),
  MAX_BODY_BYTES: z.coerce.number().int().min(1024).default(256 * 1024),
});

export interface ExecutorConfig extends Omit<z.infer<typeof Schema>, "REPOS_DIR" | "WORKTREES_DIR"> {
  REPOS_DIR: string;
  WORKTREES_DIR: string;
}

export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

export function loadConfig(env: Readonly<Record<string, string | undefined>> = process.env): ExecutorConfig {
  const r = Schema.safeParse(env);
  if (!r.success) {
    throw new ConfigError(`invalid executor configuration: ${r.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
  }
  const c = r.data;
  if (c.DEFAULT_TIMEOUT_MS > c.MAX_TIMEOUT_MS) throw new ConfigError("DEFAULT_TIMEOUT_MS must not exceed MAX_TIMEOUT_MS");
  return {
    ...c,
    DATA_DIR: path.resolve(c.DATA_DIR),
    REPOS_DIR: path.resolve(c.REPOS_DIR ?? path.join(c.DATA_DIR, "repos")),
    WORKTREES_DIR: path.resolve(c.WORKTREES_DIR ?? path.join(c.DATA_DIR, "worktrees")),
  };
}
