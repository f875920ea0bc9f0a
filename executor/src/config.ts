/** The executor's configuration, from its environment (the systemd EnvironmentFile in production). */
import path from "node:path";
import { type CliName, MAX_JOB_REQUEST_BYTES } from "@vault-mcp/contract";
import { z } from "zod";

const int = (fallback: number, min: number, max: number, what: string) =>
  z.coerce
    .number({ error: `must be a whole number (${what})` })
    .int(`must be a whole number (${what})`)
    .min(min, `must be at least ${min} (${what})`)
    .max(max, `must be at most ${max} (${what})`)
    .default(fallback);
const ms = (fallback: number, what: string) => int(fallback, 1, 24 * 3_600_000, `${what}, in milliseconds`);
const secret = (what: string) =>
  z
    .string({ error: `is required: ${what} (at least 16 characters, e.g. \`openssl rand -hex 24\`)` })
    .min(16, `must be at least 16 characters: ${what} (e.g. \`openssl rand -hex 24\`)`);
const list = z
  .string()
  .default("")
  .transform((s) =>
    s
      .split(",")
      .map((x) => x.trim())
      .filter(Boolean),
  );

const PORTS = "must be TCP ports (1-65535), comma-separated, e.g. 28787,29229";

const Schema = z.object({
  HOST: z.string().min(1).default("127.0.0.1"),
  PORT: int(28788, 0, 65535, "the TCP port to listen on; 0 picks a free one"),
  EXECUTOR_SECRET: secret("the x-auth-token every request but GET /health must carry"),
  CALLBACK_SECRET: secret("the HMAC key that signs callbacks to the Worker"),
  MAX_EXECUTORS: int(2, 1, 64, "CLIs running at once"),
  MAX_QUEUE: int(8, 0, 10_000, "jobs waiting for a slot; beyond it POST /jobs answers 429"),
  DEFAULT_TIMEOUT_MS: ms(180_000, "a job's CLI timeout when the request names none"),
  MAX_TIMEOUT_MS: ms(1_800_000, "the longest CLI timeout a request may ask for"),
  KILL_GRACE_MS: ms(5_000, "SIGTERM to SIGKILL of a CLI's process group"),
  VERIFY_TIMEOUT_MS: ms(300_000, "the verify command's timeout"),
  SHUTDOWN_GRACE_MS: ms(20_000, "how long running jobs may finish after SIGTERM"),
  KEEP_FAILED_MS: ms(24 * 3_600_000, "how long a failed job's worktree is kept"),
  JOB_RETENTION_DAYS: int(30, 1, 3650, "days a finished job stays in the job store"),
  // The Worker's default per-task halt (BREAKER_TASK_HALT_USD): a run whose spend is unknown is
  // counted as if it spent what one task may (usage/killed-run.ts). Jobs from the Worker carry
  // maxBudgetUsd, which wins; this is for jobs sent without one.
  UNKNOWN_COST_USD: z.coerce
    .number({ error: "must be a number of US dollars (the cost counted for a killed run whose usage is unknown)" })
    .positive("must be more than 0 (the cost counted for a killed run whose usage is unknown)")
    .max(1_000_000, "must be at most 1000000 (US dollars)")
    .default(5),
  DATA_DIR: z.string().min(1).default("/var/lib/vault-executor"),
  /** Persistent CLI logins for subscription profiles: codex's CODEX_HOME and gemini's GEMINI_CLI_HOME. */
  LOGINS_DIR: z.string().min(1).optional(),
  REPOS_DIR: z.string().min(1).optional(),
  WORKTREES_DIR: z.string().min(1).optional(),
  REPO_ALLOWLIST: list,
  WORKTREE_POOL: int(2, 0, 16, "cleaned worktrees kept per repo for reuse"),
  PROFILES_FILE: z.string().min(1).optional(),
  PRICES_FILE: z.string().min(1).optional(),
  CLAUDE_BIN: z.string().min(1).default("claude"),
  CODEX_BIN: z.string().min(1).default("codex"),
  GEMINI_BIN: z.string().min(1).default("gemini"),
  LOG_LEVEL: z
    .enum(["debug", "info", "warn", "error"], { error: "must be one of debug, info, warn, error" })
    .default("info"),
  // Never below what a valid JobRequest can take (a 100,000-character prompt): the contract's bound.
  MAX_BODY_BYTES: int(
    MAX_JOB_REQUEST_BYTES,
    MAX_JOB_REQUEST_BYTES,
    16 * 1024 * 1024,
    "the largest request body accepted; larger ones get 413",
  ),
  // remote/, delivery/: repos registered by URL, pushes and pull requests.
  /** A git credential-store file (`https://user:token@host` per line), read only by the executor. */
  GIT_CREDENTIALS: z.string().min(1).optional(),
  GITHUB_API_URL: z
    .url({ protocol: /^https?$/, error: "must be an http(s) URL, e.g. https://api.github.com" })
    .default("https://api.github.com")
    .transform((u) => u.replace(/\/+$/, "")),
  FETCH_TIMEOUT_MS: ms(60_000, "the fetch of a repo's default branch before a job"),
  CLONE_TIMEOUT_MS: ms(600_000, "the first clone of a repo registered by URL"),
  DELIVERY_TIMEOUT_MS: ms(120_000, "one POST /jobs/:id/deliver or /discard: the push and the GitHub calls"),
  // sandbox/: agents run as AGENT_USER_PREFIX0 … AGENT_USER_PREFIX{MAX_EXECUTORS-1}; off only when asked.
  AGENT_SANDBOX: z.enum(["on", "off"], { error: "must be on or off (agent CLIs as separate users)" }).default("on"),
  AGENT_USER_PREFIX: z
    .string()
    .regex(/^[a-z_][a-z0-9_-]{0,28}$/, "must be the start of a system user name, e.g. vault-agent-")
    .default("vault-agent-"),
  /**
   * More local TCP ports the agent identities may not connect to (as root, nftables), beside the
   * executor's own: the local stack's Worker and its inspector (npm start sets them).
   */
  AGENT_BLOCK_PORTS: list.pipe(
    z.array(
      z
        .string()
        .regex(/^\d{1,5}$/, PORTS)
        .transform(Number)
        .pipe(z.number().min(1, PORTS).max(65535, PORTS)),
    ),
  ),
});

export interface ExecutorConfig
  extends Omit<z.infer<typeof Schema>, "REPOS_DIR" | "WORKTREES_DIR" | "LOGINS_DIR" | "GIT_CREDENTIALS"> {
  /** Absolute, or undefined when unset. */
  GIT_CREDENTIALS: string | undefined;
  REPOS_DIR: string;
  WORKTREES_DIR: string;
  LOGINS_DIR: string;
}

/** Each agent CLI's executable as configured: a name looked up in PATH, or a path. */
export function cliBins(c: Pick<ExecutorConfig, "CLAUDE_BIN" | "CODEX_BIN" | "GEMINI_BIN">): Record<CliName, string> {
  return { claude: c.CLAUDE_BIN, codex: c.CODEX_BIN, gemini: c.GEMINI_BIN };
}

export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

/** Empty values count as unset, as in a systemd EnvironmentFile line `KEY=`. */
function present(env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of Object.keys(Schema.shape)) {
    const v = env[key];
    if (v !== undefined && v.trim() !== "") out[key] = v;
  }
  return out;
}

export function loadConfig(env: Readonly<Record<string, string | undefined>> = process.env): ExecutorConfig {
  const r = Schema.safeParse(present(env));
  if (!r.success) {
    const lines = r.error.issues.map((i) => `  ${i.path.join(".")} ${i.message}`);
    throw new ConfigError(`invalid executor configuration (environment):\n${lines.join("\n")}`);
  }
  const c = r.data;
  if (c.DEFAULT_TIMEOUT_MS > c.MAX_TIMEOUT_MS)
    throw new ConfigError(
      `invalid executor configuration: DEFAULT_TIMEOUT_MS (${c.DEFAULT_TIMEOUT_MS}) must not exceed MAX_TIMEOUT_MS (${c.MAX_TIMEOUT_MS})`,
    );
  return {
    ...c,
    DATA_DIR: path.resolve(c.DATA_DIR),
    REPOS_DIR: path.resolve(c.REPOS_DIR ?? path.join(c.DATA_DIR, "repos")),
    WORKTREES_DIR: path.resolve(c.WORKTREES_DIR ?? path.join(c.DATA_DIR, "worktrees")),
    LOGINS_DIR: path.resolve(c.LOGINS_DIR ?? path.join(c.DATA_DIR, "logins")),
    GIT_CREDENTIALS: c.GIT_CREDENTIALS === undefined ? undefined : path.resolve(c.GIT_CREDENTIALS),
  };
}
