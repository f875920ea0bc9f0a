/** What the route handlers share: the app's dependencies and its draining state (app.ts wires them). */
import type { CliName, DiskUse, RepoSource } from "@vault-mcp/contract";
import type { ExecutorConfig } from "../../config.ts";
import type { Delivery } from "../../delivery/deliver.ts";
import type { CliInfo } from "../../health.ts";
import type { JobRunner } from "../../jobs/runner.ts";
import type { JobStore } from "../../jobs/store.ts";
import type { JobQueue } from "../../queue.ts";
import type { Readiness } from "../../readiness.ts";
import type { SandboxStatus } from "../../sandbox/sandbox.ts";
import { HttpError } from "../http.ts";

export interface AppDeps {
  config: Pick<ExecutorConfig, "EXECUTOR_SECRET" | "MAX_BODY_BYTES">;
  store: JobStore;
  queue: JobQueue;
  runner: JobRunner;
  /**
   * Refuses a repo the worktree manager would refuse (with a source: a name taken by a repo placed by
   * hand), so the caller gets a 400, not a failed job.
   */
  checkRepo?: (repo: string, source: RepoSource | undefined) => Promise<unknown>;
  /** The repos a job may name, listed in that refusal. */
  repos?: () => Promise<string[]>;
  /** Each profile's readiness, now. */
  readiness: () => Readiness;
  /** The profile a direct run uses per CLI. */
  direct: Readonly<Record<CliName, string>>;
  /** The last disk measurement (null before the first). */
  disk: () => DiskUse | null;
  /** Aborted at shutdown when the grace is over: kills the running CLIs. */
  jobSignal: AbortSignal;
  clis: () => Record<CliName, CliInfo> | null;
  /** The agent sandbox's state (sandbox/sandbox.ts). */
  sandbox?: () => SandboxStatus;
  startedAt: number;
  now?: () => Date;
  /** Deliver, discard and diff (routes/delivery.ts); absent: those routes answer 404. */
  jobRoutes?: JobRoutes;
}

export interface JobRoutes {
  delivery: Delivery;
  /** The repo's directory (the worktree manager's repoPath). */
  repoPath: (repo: string) => Promise<string>;
}

export interface RouteContext extends AppDeps {
  now: () => Date;
  /** True once shutdown began: new jobs get 503. */
  draining(): boolean;
}

export const shuttingDown = () =>
  new HttpError(503, "shutting_down", "the executor is shutting down; retry in a few seconds", { "retry-after": "10" });
