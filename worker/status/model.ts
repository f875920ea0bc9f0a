/**
 * What the status pages show, as data: the queries fill these, the views render them. Fields for
 * work that lands later (the executor pool: which executor ran an attempt, each executor's state)
 * are here already, null until their data exists, so the pages render those sections as soon as the
 * queries fill them (see docs/API.md, "Status pages").
 */
import type { DeliverSetting, DeliveryState, DiffSide, StageStatus, TaskStatus } from "@vault-mcp/contract";

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

/** Where a succeeded task's change went (issue 17), from the task row; null while it has none. */
export interface DeliveryView {
  /** `vault/<taskId>` on the remote once delivered, else the attempt's branch on the executor. */
  branch: string | null;
  commit: string | null;
  prUrl: string | null;
  diffstat: Diffstat | null;
  /** none, push or pr: how the task delivers (null: not decided yet, the repo's). */
  deliver: DeliverSetting | null;
  /** delivered, failed, discarded; null: not delivered (deliver none, or not yet). */
  state: DeliveryState | null;
  deliveredAt: number | null;
  /** The last delivery failed (flag `delivery_failed`): what to fix, and "deliver again" applies. */
  failed: boolean;
  message: string | null;
}

/** A file of a diffstat: null counts for a binary file. */
export interface DiffFileStat {
  path: string;
  added: number | null;
  deleted: number | null;
}

/**
 * One page (≤ 64 KiB) of the unified diff of a task's change, as GET /api/tasks/:id/diff serves it
 * (worker/services/diff.ts), its text already made plain (no control sequence or bidi control).
 */
export interface DiffPage {
  attempt: number;
  side: DiffSide;
  /** `["a"]`, or `["a", "b"]` for a consensus attempt. */
  sides: DiffSide[];
  base: string;
  commit: string | null;
  /** The diffstat and its files: on the first page only. */
  diffstat: Diffstat | null;
  files: DiffFileStat[];
  text: string;
  /** 1 for the first page. */
  number: number;
  /** The cursor of the next page; null on the last. */
  nextCursor: string | null;
  /** The executor serves no more than 16 MiB of a diff: the last page ends there. */
  truncated: boolean;
}

/** The diff section: a page, or why it could not be read (the executor is down, the job is gone). */
export type DiffSection = { page: DiffPage; unavailable: null } | { page: null; unavailable: string };

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
  /** The chooser's note and the stage's error (one a line), stripped of control characters. */
  message: string | null;
  /** Which executor of the pool ran it (`default`: EXECUTOR_URL; null: none yet). */
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
  /** `default` for the single EXECUTOR_URL; else the pool's ids (EXECUTOR_ID, the hostname by default). */
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
  /** An active executor of the pool (the one at EXECUTOR_URL alone is not drained). */
  canDrain: boolean;
}
