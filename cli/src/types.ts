/** The REST shapes the CLI reads (validated where the CLI depends on them). */
import { z } from "zod";

export const Task = z.looseObject({
  id: z.string(),
  status: z.string(),
  kind: z.string(),
  repo: z.string(),
  profile: z.string(),
  costUsd: z.number(),
  attempts: z.number(),
  flags: z.array(z.string()),
  prompt: z.string(),
  result: z.string().nullable(),
  error: z.string().nullable(),
  replayOf: z.string().nullable(),
  createdAt: z.number(),
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
});

export const TaskList = z.object({ tasks: z.array(Task) });
export const TaskDetail = z.object({
  task: Task,
  stages: z.array(Stage),
  decisions: z.array(z.looseObject({ kind: z.string(), decision: z.string(), actor: z.string(), createdAt: z.number() })),
  breakers: z.object({ dayBlocked: z.boolean(), monthFlagged: z.boolean() }),
});
export const State = z.looseObject({ taskId: z.string(), status: z.string(), costUsd: z.number(), flags: z.array(z.string()), error: z.string().optional() });
export const ReplayReport = z.object({
  dryRun: z.boolean(),
  items: z.array(z.object({ originalId: z.string(), newTaskId: z.string().nullable(), status: z.enum(["started", "skipped", "would_start", "error"]), reason: z.string().optional() })),
  started: z.number(),
  skipped: z.number(),
  errors: z.number(),
});
export type ReplayReport = z.infer<typeof ReplayReport>;
