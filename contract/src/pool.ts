/**
 * The executor pool: each executor started with POOL_URL announces itself to the Worker every few
 * seconds (`POST /api/executors/heartbeat`, signed with CALLBACK_SECRET like a callback), and the
 * Worker keeps what it said in D1 (`executors`). The answer may tell the executor to drain. Objects
 * are not strict: an executor newer than the Worker may add fields and its heartbeat must still parse.
 */
import { z } from "zod";
import { RepoName } from "./job.ts";
import { CliName } from "./profiles.ts";

/** An executor's name in the pool: its VM's hostname by default (EXECUTOR_ID). */
export const ExecutorId = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/,
    "an executor id is 1-63 of letters, digits, '.', '_' and '-', starting with a letter or digit (e.g. a hostname)",
  );
export type ExecutorId = z.infer<typeof ExecutorId>;

/** The id of the executor at EXECUTOR_URL when no executor heartbeats: a pool of one. */
export const CONFIGURED_EXECUTOR_ID = "default";

/** Whether a profile (or consensus) can run on an executor, and if not what to set or run there. */
export const CanRun = z.object({ ready: z.boolean(), missing: z.string().max(500).optional() });
export type CanRun = z.infer<typeof CanRun>;

/** What an executor can run: the readiness its /health reports, kept small. */
export const PoolReadiness = z.object({
  profiles: z.record(z.string().max(40), CanRun),
  consensus: CanRun,
  /** The profile a direct run (`executor: <cli>`) uses for each CLI. */
  direct: z.partialRecord(CliName, z.string().max(40)),
});
export type PoolReadiness = z.infer<typeof PoolReadiness>;

export const MAX_HEARTBEAT_JOBS = 1000;
export const MAX_HEARTBEAT_REPOS = 1000;

export const Heartbeat = z.object({
  id: ExecutorId,
  /** Where the Worker reaches this executor (its job API). */
  url: z
    .url({ protocol: /^https?$/ })
    .max(2048)
    .transform((u) => u.replace(/\/+$/, "")),
  /**
   * The executor's clock when it signed this heartbeat (ms). Each heartbeat must be later than the
   * last one the Worker took from this id, so a captured heartbeat sent again is refused.
   */
  sentAt: z.int().positive(),
  version: z.string().min(1).max(64),
  /** CLIs it runs at once (MAX_EXECUTORS). */
  capacity: z.int().min(0).max(1000),
  /** Ids of the jobs running now. */
  running: z.array(z.string().min(1).max(200)).max(MAX_HEARTBEAT_JOBS),
  /** Jobs accepted and waiting for a slot. */
  queued: z.int().min(0).max(1_000_000),
  /** The repositories it holds (allowlisted, or cloned from a registered URL). */
  repos: z.array(RepoName).max(MAX_HEARTBEAT_REPOS),
  readiness: PoolReadiness,
  /** It is shutting down and takes no new job (an operator's drain is the Worker's own state). */
  draining: z.boolean(),
});
export type Heartbeat = z.infer<typeof Heartbeat>;

/** The Worker's answer to a heartbeat. */
export const HeartbeatAnswer = z.object({
  /** An operator drained this executor (`vault executors drain`): take no new job, finish the running ones. */
  drain: z.boolean(),
  /** How long the Worker waits without a heartbeat before it takes this executor's jobs elsewhere. */
  leaseMs: z.int().positive(),
});
export type HeartbeatAnswer = z.infer<typeof HeartbeatAnswer>;

/** One executor as `vault executors`, the `executors` tool and the status page show it. */
export const ExecutorView = z.object({
  id: z.string(),
  url: z.string(),
  /** `heartbeat`: it registered itself; `config`: EXECUTOR_URL, used while no executor heartbeats. */
  source: z.enum(["heartbeat", "config"]),
  /** `draining`: an operator drained it (no new job; running ones finish). */
  state: z.enum(["active", "draining"]),
  /** Heartbeat within the lease (always true for the configured one). */
  fresh: z.boolean(),
  /** The executor said it is shutting down (it takes no new job). */
  stopping: z.boolean(),
  capacity: z.number().nullable(),
  running: z.array(z.string()),
  queued: z.number().nullable(),
  repos: z.array(z.string()),
  readyProfiles: z.array(z.string()),
  notReady: z.array(z.object({ profile: z.string(), missing: z.string() })),
  version: z.string().nullable(),
  /** Epoch ms of the last heartbeat (null: the configured executor, which does not heartbeat). */
  lastHeartbeatAt: z.number().nullable(),
});
export type ExecutorView = z.infer<typeof ExecutorView>;

/** `GET /api/executors`, `executors {action: list}`. */
export const ExecutorList = z.object({ executors: z.array(ExecutorView), leaseMs: z.number() });
export type ExecutorList = z.infer<typeof ExecutorList>;

/** `POST /api/executors/:id/drain` and `/resume`. */
export const ExecutorStateChange = z.object({
  id: z.string(),
  state: z.enum(["active", "draining"]),
  /** Jobs it still runs (they finish; nothing new is sent to it while draining). */
  running: z.array(z.string()),
});
export type ExecutorStateChange = z.infer<typeof ExecutorStateChange>;
