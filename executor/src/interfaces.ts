/**
 * Seams between the executor's parts. Each part lives in its own module and is tested on its own;
 * the job runner (`jobs/runner.ts`) wires them together.
 *
 *   queue → worktree.acquire → adapter.prepare/build → runProcess → adapter.parse
 *         → verify (runProcess) → worktree.collect (numstat, commit) → compress → store → callback
 */
import type {
  AuthMode,
  ChangedFile,
  CliName,
  ConsensusReport,
  RunResult,
  Verbosity,
  VerifyResult,
} from "@vault-mcp/contract";
import type { UsageLog } from "./usage/session-logs.ts";

// ── process/run.ts ────────────────────────────────────────────────────────────────────────────
export interface RunProcessOptions {
  /** argv[0] is the executable; never run through a shell. */
  argv: readonly string[];
  cwd: string;
  /** The complete environment of the child (nothing is inherited implicitly). */
  env: Readonly<Record<string, string>>;
  timeoutMs: number;
  /** SIGTERM to the process group, then SIGKILL after this grace. */
  killGraceMs?: number;
  /** Per-stream cap on stored output; the rest is drained and dropped. Default 1 MiB. */
  maxOutputBytes?: number;
  /**
   * Per stream, also keep the last this many bytes past the cap (default 0: the head only). For the
   * agent CLIs, whose result comes last; the bytes between head and tail are replaced by a marker.
   */
  tailBytes?: number;
  /** Aborting kills the tree like a timeout does (used by shutdown). */
  signal?: AbortSignal;
  /** Written to the child's stdin, then EOF (a prompt: never an argument, so never an option). Default: /dev/null. */
  stdin?: string;
  /** Called once the child is spawned (e.g. to count live CLIs). */
  onSpawn?: (pid: number) => void;
  /**
   * Run with this primary group (and no supplementary ones): git checkouts into a slot's worktree,
   * so the files it writes carry the slot identity's group. Needs root or CAP_SETGID.
   */
  gid?: number;
}

export interface ProcessOutcome {
  exitCode: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  stdoutTruncated: boolean;
  stderrTruncated: boolean;
  /** Killed by our timeout (the CLI's own exit code is then meaningless: gemini exits 0 on SIGTERM). */
  timedOut: boolean;
  /** Killed because the caller's AbortSignal fired. */
  aborted: boolean;
  /** The executable could not be started (ENOENT, EACCES). */
  spawnError: string | null;
  durationMs: number;
  pid: number | null;
}

// ── worktree.ts ───────────────────────────────────────────────────────────────────────────────
export interface Worktree {
  repo: string;
  path: string;
  branch: string;
  /** The commit the worktree was created at. */
  baseCommit: string;
  /**
   * The tree's git directory in the source repo (`.git/worktrees/<name>`), which the agent cannot
   * write. The executor's git always names it: the `.git` file in the tree is the agent's to change.
   */
  gitDir: string;
  /** The agent identity's slot the tree belongs to (sandbox on), else undefined. */
  slot?: WorktreeSlot;
}

/**
 * Who works in a tree (sandbox/): its files belong to the executor with the slot identity's group
 * (rw), so the identity can edit them and the executor can read and clean what the agent made.
 */
export interface WorktreeSlot {
  /** Pool key: a cleaned tree goes back to its own slot's pool (its files carry that slot's group). */
  key: string;
  gid: number;
  /** As the identity: gives the executor back rights on what the agent locked away. */
  fixPermissions(dir: string): Promise<void>;
}

export interface WorktreeOutcome {
  files: ChangedFile[];
  /** Commit made on the job's branch when files changed, else null. */
  commit: string | null;
  /** Unified diff per changed path (for consensus), capped. */
  diffs: Record<string, string>;
}

export interface WorktreeManager {
  /** Throws a typed error for a repo outside the allowlist or a ref that does not exist. */
  acquire(repo: string, ref: string | undefined, jobId: string, slot?: WorktreeSlot): Promise<Worktree>;
  /** Lists and commits what the CLI changed; per-file diffs only when asked (consensus compares them). */
  collect(wt: Worktree, opts?: { diffs?: boolean }): Promise<WorktreeOutcome>;
  /** Removes (or recycles) a worktree after success; keeps it for the TTL after failure. */
  release(wt: Worktree, opts: { keep: boolean }): Promise<void>;
}

// ── clis/*.ts ─────────────────────────────────────────────────────────────────────────────────
export interface CliRunInput {
  prompt: string;
  model: string;
  cwd: string;
  /**
   * A fresh per-run directory the adapter may use as HOME / config dir. What `prepare` writes here
   * (as the executor) is handed to the run's identity when the sandbox is on; nothing else of the
   * executor's is (sandbox/homes.ts): copy into it what the profile needs, never link to it.
   */
  home: string;
  /** Environment from the executor's profile config (keys, base URLs). Never from the request. */
  profileEnv: Readonly<Record<string, string>>;
  /** How the profile authenticates (subscription: the login below, or claude's OAuth token). */
  auth: AuthMode;
  /**
   * The CLI's persistent login home for subscription runs, made once with its own login command
   * (codex: CODEX_HOME; gemini: GEMINI_CLI_HOME). The adapter never writes into it: token refreshes
   * the CLI itself writes there are what keeps the login alive.
   */
  loginHome: string;
  /** The run's spending limit in USD (claude: --max-budget-usd; for the others the runner watches). */
  maxBudgetUsd?: number;
  /** The CLI runs as an agent identity (AGENT_SANDBOX=on), which is then its boundary. */
  sandboxed?: boolean;
}

export interface CliInvocation {
  argv: string[];
  env: Record<string, string>;
  /** The prompt, written to the CLI's stdin: never an argument, so never read as an option. */
  stdin: string;
}

export interface LoginFiles {
  /** Paths relative to the login home and to the run's home. */
  files: readonly { login: string; run: string }[];
  exclusive: boolean;
}

export interface CliAdapter {
  readonly name: CliName;
  /** The CLI stops itself at CliRunInput.maxBudgetUsd; otherwise the runner watches its usage log. */
  readonly stopsAtBudget: boolean;
  /** Where, under the run's home, the CLI logs usage while it runs; null when it logs none we can read. */
  usageLog(auth: AuthMode, sandboxed: boolean): UsageLog | null;
  /**
   * The login files a sandboxed subscription run gets a copy of (its identity may not enter the login
   * home) and whose refresh is written back after the run (login-sync.ts); `exclusive` when the
   * login's refresh token is single-use, so its runs must take turns. null: nothing to copy.
   */
  loginFiles(input: Pick<CliRunInput, "auth" | "sandboxed">): LoginFiles | null;
  /** Writes any config files the CLI needs into `input.home` and returns the argv, env and stdin. */
  prepare(input: CliRunInput): Promise<CliInvocation>;
  /** Normalizes what the process printed. Never throws: bad output → error.kind "bad_output". */
  parse(outcome: ProcessOutcome, ctx: { model: string; cli: CliName }): RunResult;
}

// ── compress/ ─────────────────────────────────────────────────────────────────────────────────
export interface CompressInput {
  profile: string;
  run: RunResult;
  files: readonly ChangedFile[];
  verify?: VerifyResult;
  branch: string | null;
  commit: string | null;
}
export type Compress = (input: CompressInput, verbosity: Verbosity) => string;

// ── consensus.ts ──────────────────────────────────────────────────────────────────────────────
export interface ConsensusSide {
  profile: string;
  run: RunResult;
  files: readonly ChangedFile[];
  diffs: Readonly<Record<string, string>>;
  verify?: VerifyResult;
}
export type CompareRuns = (a: ConsensusSide, b: ConsensusSide) => ConsensusReport;
