/**
 * What the status pages show, as data: the queries fill these, the views render them. Fields for
 * work that lands later (delivery: branch, commit, diffstat, PR; the executor pool: which executor
 * ran an attempt, each executor's state) are here already, null until their data exists, so the
 * pages render those sections as soon as the queries fill them (see docs/API.md, "Status pages").
 */
import type { StageStatus, TaskStatus } from "@vault-mcp/contract";

/** `(created_at, id)` of the last row shown: the next page starts strictly after it (keyset). */
export interface Cursor {
  createdAt: number;
  id: string;
}

export interface ListFilter {
  status: TaskStatus[];
  repo: string | null;
  /** Matches what was asked: a profile (`auto`, `sonnet`) or an executor (`codex`, `consensus`). */
  asked: string | null;
  kind: string | null;
  /** Created on or after / before (ms since the epoch, UTC days from the form). */
  from: number | null;
  to: number | null;
  /** A task id (or its prefix), else words of the prompt. */
  q: string | null;
  cursor: Cursor | null;
}

export interface TaskListRow {
  id: string;
  status: TaskStatus;
  repo: string;
  kind: string;
  /** The prompt's first line, cut short. */
  title: string;
  /** `profile auto`, `executor codex`, `executor codex, climbs`… */
  asked: string;
  attempts: number;
  costUsd: number;
  createdAt: number;
  /** Delivery (issue 17): the pull request, once there is one. */
  prUrl: string | null;
}

export interface TaskListPage {
  rows: TaskListRow[];
  /** The cursor of the next page; null on the last one. */
  next: string | null;
}

/** Files, lines added and deleted: a change at a glance. */
export interface Diffstat {
  files: number;
  added: number;
  deleted: number;
}

/** Delivery (issue 17): where the change went. Null on the task until delivery records something. */
export interface DeliveryView {
  branch: string | null;
  commit: string | null;
  prUrl: string | null;
  diffstat: Diffstat | null;
  /** The last delivery failed (flag `delivery_failed`): what to fix, and "deliver again" applies. */
  failed: boolean;
  message: string | null;
}

/** One page of a task's unified diff (GET /api/tasks/:id/diff once delivery lands). */
export interface DiffPage {
  diffstat: Diffstat;
  text: string;
  /** Binary files are named, not dumped. */
  binary: string[];
  nextCursor: string | null;
}

/** Reads a task's diff; the status page shows the section only when one is given and answers. */
export type DiffFetcher = (taskId: string, cursor: string | null) => Promise<DiffPage | null>;

export interface AttemptView {
  attempt: number;
  profile: string;
  cli: string;
  model: string;
  status: StageStatus;
  startedAt: number;
  /** Until now for a running attempt. */
  durationMs: number;
  running: boolean;
  tokensIn: number;
  tokensOut: number;
  tokensCache: number;
  costUsd: number;
  /** This task's spend up to and including this attempt. */
  cumulativeUsd: number;
  /** The stage's error or note, stripped of control characters. */
  message: string | null;
  /** The executor pool (issue 19): which executor ran it. */
  executorId: string | null;
  filesChanged: number;
  verifyOk: boolean | null;
}

export interface StepView {
  name: string;
  state: "done" | "running" | "waiting" | "failed";
  detail: string | null;
}

export interface DecisionView {
  kind: string;
  decision: string;
  rationale: string | null;
  actor: string;
  createdAt: number;
}

export interface TaskPageView {
  id: string;
  status: TaskStatus;
  repo: string;
  kind: string;
  asked: string;
  prompt: string;
  spec: string | null;
  createdAt: number;
  updatedAt: number;
  attempts: AttemptView[];
  /** The cap shared by the task and its replays, and what they have spent together. */
  capUsd: number;
  chainSpentUsd: number;
  costUsd: number;
  flags: string[];
  /** From the instance when the runtime reports steps (wrangler dev), else built from the stages. */
  steps: StepView[];
  stepsSource: "instance" | "stages";
  /** The result's Mermaid, neutralised (see diagram.ts); null when the result has none. */
  diagram: string | null;
  /** The rest of the result (the answer, files…), and the task's error. */
  resultText: string | null;
  error: string | null;
  /** What the task waits for now (`human-2`, `budget-1`), and what answers it. */
  waitingFor: string | null;
  decisions: DecisionView[];
  replayOf: string | null;
  replays: string[];
  delivery: DeliveryView | null;
  /** Keep polling: the task runs, or an answer was just sent and the instance is resuming. */
  live: boolean;
}

/** The Workflows binding's word on the task's instance (asked only while the task runs or waits). */
export interface InstanceInfo {
  status: string;
  error: string | null;
}

export interface ExecutorView {
  /** `default` for the single EXECUTOR_URL; the pool's ids later. */
  id: string;
  url: string | null;
  state: "ready" | "degraded" | "draining" | "unreachable";
  slots: number | null;
  running: number | null;
  queued: number | null;
  readyProfiles: string[];
  notReady: { profile: string; missing: string }[];
  /** Last heartbeat (the pool) or this probe's time. */
  heartbeatAt: number;
  latencyMs: number | null;
  /** Draining is a pool action: false until the pool lands. */
  canDrain: boolean;
}
