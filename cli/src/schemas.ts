/**
 * The REST answers the CLI reads (docs/API.md), checked with zod. Objects are loose and statuses
 * plain strings: a Worker that adds a field or a status must not break the CLI; only what the CLI
 * prints or branches on is required.
 */
import { z } from "zod";

export const Task = z.looseObject({
  id: z.string(),
  status: z.string(),
  kind: z.string(),
  repo: z.string(),
  profile: z.string(),
  prompt: z.string(),
  costUsd: z.number(),
  attempts: z.number(),
  flags: z.array(z.string()),
  result: z.string().nullable(),
  error: z.string().nullable(),
  replayOf: z.string().nullable(),
  createdAt: z.number(),
  updatedAt: z.number(),
});
export type Task = z.infer<typeof Task>;

export const Stage = z.looseObject({
  attempt: z.number(),
  profile: z.string(),
  cli: z.string(),
  model: z.string(),
  status: z.string(),
  costUsd: z.number(),
  tokensIn: z.number(),
  tokensOut: z.number(),
  latencyMs: z.number(),
  errorKind: z.string().nullable(),
  errorMessage: z.string().nullable(),
  /** Where the attempt's work is on the executor VM (newer Workers only). */
  branch: z.string().nullable().optional(),
  commit: z.string().nullable().optional(),
});
export type Stage = z.infer<typeof Stage>;

export const Decision = z.looseObject({
  kind: z.string(),
  decision: z.string(),
  rationale: z.string().nullable(),
  actor: z.string(),
  createdAt: z.number(),
});

export const TaskList = z.object({ tasks: z.array(Task) });

export const TaskDetail = z.looseObject({
  task: Task,
  stages: z.array(Stage),
  decisions: z.array(Decision),
  breakers: z.object({ dayBlocked: z.boolean(), monthFlagged: z.boolean() }),
});
export type TaskDetail = z.infer<typeof TaskDetail>;

/** `GET /api/tasks/:id/state`: the shape of `execute`'s answer. */
export const TaskState = z.looseObject({
  taskId: z.string(),
  status: z.string(),
  costUsd: z.number(),
  flags: z.array(z.string()),
  error: z.string().optional(),
  progressText: z.string().optional(),
});
export type TaskState = z.infer<typeof TaskState>;

export const ReplayItem = z.looseObject({
  originalId: z.string(),
  newTaskId: z.string().nullable(),
  status: z.enum(["started", "skipped", "would_start", "error"]),
  reason: z.string().optional(),
});
export type ReplayItem = z.infer<typeof ReplayItem>;

export const ReplayReport = z.looseObject({
  dryRun: z.boolean(),
  items: z.array(ReplayItem),
});

const Period = z.looseObject({ spentUsd: z.number(), limitUsd: z.number(), runs: z.number(), state: z.string() });

export const Breakers = z.looseObject({
  day: Period,
  month: Period.extend({ acknowledgedAt: z.number().nullable() }),
  blocked: z.boolean(),
  flagged: z.boolean(),
  thresholds: z.looseObject({ taskWarnUsd: z.number(), taskHaltUsd: z.number() }).optional(),
});
export type Breakers = z.infer<typeof Breakers>;

export const Health = z.looseObject({
  status: z.string(),
  version: z.string(),
  d1: z.looseObject({ reachable: z.boolean(), latencyMs: z.number() }),
  executor: z.looseObject({
    reachable: z.boolean(),
    latencyMs: z.number(),
    version: z.string().optional(),
    running: z.number().optional(),
    queued: z.number().optional(),
    capacity: z.number().optional(),
  }),
  breakers: z.looseObject({ blocked: z.boolean(), flagged: z.boolean() }).nullable(),
});
export type Health = z.infer<typeof Health>;

/** `POST /api/tasks/:id/decide` and `/budget` (202). */
export const Accepted = z.looseObject({ taskId: z.string(), decisionId: z.string() });
export const Acknowledged = z.looseObject({ acknowledged: z.boolean() });
