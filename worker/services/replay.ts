/**
 * Replays failed tasks with their original params, shared by the `replay` tool and POST /api/replay
 * (the ops CLI). Each replay is a new task linked by `replay_of` and recorded in `decisions` on the
 * original. Its `replay_key` (`replay:<origId>:<n>`, unique in D1) makes the same replay twice a
 * no-op: without `force` n is always 1, so a task is replayed once however often it is asked;
 * `force` takes the next n.
 */

import {
  ProfileChoice,
  ProfileName,
  REPLAYABLE_TASK_STATUSES,
  type ReplayItem,
  type ReplayReport,
  TaskId,
  TaskStatus,
  TERMINAL_TASK_STATUSES,
} from "@vault-mcp/contract";
import { count, eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { z } from "zod";
import { AppError } from "../../core/errors.ts";
import { newId } from "../../core/ids.ts";
import { decisions, type TaskRow, tasks } from "../../schema/index.ts";
import { toWireError } from "../errors.ts";
import { ExecuteInput, startExecute } from "./execute.ts";
import { listTasks, requireTask, Since } from "./tasks.ts";

/** `replay` and `POST /api/replay` (ReplayShape without the refinement, for the tool's advertised form). */
export const ReplayShape = z.strictObject({
  taskId: TaskId.optional().describe("Replay this one task (it must have finished)."),
  status: z
    .array(TaskStatus)
    .min(1)
    .max(TaskStatus.options.length)
    .optional()
    .describe("Bulk: statuses to replay (default failed, halted, blocked, needs_human)."),
  since: Since.optional().describe(
    "Bulk (required without taskId): only tasks created within this window, e.g. '24h', '90m', '7d'.",
  ),
  profile: ProfileChoice.optional().describe("Bulk: only tasks that asked for this profile."),
  fromTier: ProfileName.optional().describe("Start the replay at this ladder profile instead of the original one."),
  dryRun: z.boolean().default(false).describe("List what would be replayed; start nothing."),
  force: z.boolean().default(false).describe("Replay even tasks replayed before."),
  limit: z.number().int().min(1).max(100).default(20).describe("Bulk: at most this many tasks, newest first."),
});
export const ReplayInput = ReplayShape.refine((r) => r.taskId !== undefined || r.since !== undefined, {
  message: "give a taskId, or a 'since' window (e.g. '24h') for a bulk replay",
  path: ["since"],
});
export type ReplayInput = z.infer<typeof ReplayInput>;

const firstKey = (id: string) => `replay:${id}:1`;

/** The key of the next replay: n = 1 without force, else one past the replays made so far. */
async function nextReplayKey(db: D1Database, original: TaskRow, force: boolean): Promise<string> {
  if (!force) return firstKey(original.id);
  const [row] = await drizzle(db).select({ n: count() }).from(tasks).where(eq(tasks.replayOf, original.id));
  return `replay:${original.id}:${(row?.n ?? 0) + 1}`;
}

async function replayedAs(db: D1Database, originalId: string): Promise<string | null> {
  const [row] = await drizzle(db)
    .select({ id: tasks.id })
    .from(tasks)
    .where(eq(tasks.replayKey, firstKey(originalId)))
    .limit(1);
  return row?.id ?? null;
}

/** The original's params, re-validated: a row written by an older version must still be a valid input. */
function executeInputOf(original: TaskRow, fromTier: string | undefined): ExecuteInput {
  return ExecuteInput.parse({
    prompt: original.prompt,
    repo: original.repo,
    ...(original.ref ? { ref: original.ref } : {}),
    profile: fromTier ?? original.profile,
    verbosity: original.verbosity,
    ...(original.verify ? { verify: original.verify } : {}),
    ...(original.budgetUsd ? { budgetUsd: original.budgetUsd } : {}),
    kind: original.kind,
    waitSeconds: 0,
  });
}

const ALREADY = "already replayed (use force to replay again)";

export async function replay(env: Env, input: ReplayInput, now: number): Promise<ReplayReport> {
  const originals = input.taskId
    ? [await requireTask(env.DB, input.taskId)]
    : await listTasks(
        env.DB,
        {
          status: [...(input.status ?? REPLAYABLE_TASK_STATUSES)],
          since: input.since,
          profile: input.profile,
          limit: input.limit,
        },
        now,
      );
  const items: ReplayItem[] = [];
  let stopped: string | null = null;
  for (const original of originals) {
    const skip = (reason: string, newTaskId: string | null = null) =>
      items.push({ originalId: original.id, newTaskId, status: "skipped", reason });
    if (stopped) {
      items.push({ originalId: original.id, newTaskId: null, status: "error", reason: stopped });
      continue;
    }
    if (!TERMINAL_TASK_STATUSES.includes(original.status)) {
      skip(`still ${original.status}; only a finished task is replayed`);
      continue;
    }
    if (original.replayOf !== null && !input.taskId) {
      // A bulk run replays originals; a replay of a replay happens only when asked for by id.
      skip("is itself a replay");
      continue;
    }
    if (!input.force) {
      const done = await replayedAs(env.DB, original.id);
      if (done) {
        skip(ALREADY, done);
        continue;
      }
    }
    if (input.dryRun) {
      items.push({ originalId: original.id, newTaskId: null, status: "would_start" });
      continue;
    }
    try {
      const exec = executeInputOf(original, input.fromTier);
      const key = await nextReplayKey(env.DB, original, input.force);
      const out = await startExecute(env, exec, { waitSeconds: 0, replayOf: original.id, replayKey: key });
      await drizzle(env.DB)
        .insert(decisions)
        .values({
          id: newId("d", now),
          taskId: original.id,
          kind: "replay",
          decision: `replayed as ${out.taskId}`,
          actor: "replay",
          data: { newTaskId: out.taskId, replayKey: key, profile: exec.profile },
          createdAt: now,
        });
      items.push({ originalId: original.id, newTaskId: out.taskId, status: "started" });
    } catch (err) {
      const wire = toWireError(err).body.error;
      // A concurrent identical replay won the unique replay_key: the same outcome as "done before".
      if (err instanceof AppError && err.code === "conflict") skip(ALREADY);
      else items.push({ originalId: original.id, newTaskId: null, status: "error", reason: wire.message });
      // Today's block refuses every later start too: say so instead of trying each.
      if (err instanceof AppError && err.code === "breaker_open") stopped = wire.message;
    }
  }
  return {
    dryRun: input.dryRun,
    items,
    started: items.filter((i) => i.status === "started").length,
    skipped: items.filter((i) => i.status === "skipped").length,
    errors: items.filter((i) => i.status === "error").length,
  };
}
