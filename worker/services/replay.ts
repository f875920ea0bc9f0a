/**
 * Replays failed tasks, shared by the `replay` tool and POST /api/replay (the ops CLI). Each replay
 * is a new task linked by `replay_of` and recorded in `decisions` on the original. Its `replay_key`
 * (`replay:<origId>:<n>`, unique in D1) makes the same replay twice a no-op: without `force` n is
 * always 1, so a task is replayed once however often it is asked; `force` takes the next n.
 *
 * A halted or needs_human original may still have a waiting instance, which a decision or a raise
 * would wake next to its replay: such tasks are skipped unless `includeWaiting`, which terminates
 * the original instance first (and records that). A replay carries the original's spec, and the
 * instructions of its last human decision in its prompt (as a human retry passes them), and asks
 * what the original asked (replayInit in replay-original.ts).
 */

import {
  AUTO,
  ProfileChoice,
  ProfileName,
  REPLAYABLE_TASK_STATUSES,
  type ReplayItem,
  type ReplayReport,
  TaskId,
  TaskStatus,
  TERMINAL_TASK_STATUSES,
} from "@vault-mcp/contract";
import { and, count, eq, isNotNull } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { z } from "zod";
import { getConfig } from "../../core/config.ts";
import { AppError } from "../../core/errors.ts";
import { newId } from "../../core/ids.ts";
import { decisions, type TaskRow, tasks } from "../../schema/index.ts";
import { readBreakers } from "../../workflows/breakers.ts";
import { toWireError } from "../errors.ts";
import { type Caller, INTERNAL_CALLER } from "./admission.ts";
import { ExecuteInput, startExecute } from "./execute.ts";
import { isInstanceMissing } from "./instances.ts";
import {
  type LiveInstance,
  lastInstructions,
  liveInstance,
  replayInit,
  terminateInstance,
  waitingReason,
} from "./replay-original.ts";
import { createTask, listTasks, type NewTask, requireTask, Since, setSpec, TaskInit } from "./tasks.ts";
import { isUniqueViolation } from "./unique.ts";

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
  fromTier: ProfileName.optional().describe(
    "Start the replay at this ladder profile instead of what the original asked (its executor or profile); it climbs from there unless climb is false.",
  ),
  climb: z
    .boolean()
    .optional()
    .describe(
      "Whether a failed run of the replay climbs the ladder: true lets a direct executor run climb from its CLI's profile (as execute's profile 'auto' does); false runs the first profile only. Default: as the original asked.",
    ),
  dryRun: z.boolean().default(false).describe("List what would be replayed; start nothing."),
  force: z.boolean().default(false).describe("Replay even tasks replayed before."),
  limit: z.number().int().min(1).max(100).default(20).describe("Bulk: at most this many tasks, newest first."),
  includeWaiting: z
    .boolean()
    .default(false)
    .describe(
      "Also replay tasks whose workflow instance still waits (halted: for a budget raise; needs_human: for a decision): the original instance is terminated first. Default: such tasks are skipped.",
    ),
  budgetUsd: TaskInit.shape.budgetUsd.describe(
    "The replay's budget in USD: raises the shared cap of the original and its replays (default: the original's budget).",
  ),
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

const ALREADY = "already replayed (use force to replay again)";
/** Refusals that hold for every task of a bulk replay. */
const STOPS: ReadonlySet<string> = new Set(["breaker_open", "rate_limited", "overloaded"]);

/** Checked before anything changes: a blocked day would refuse the start after the original was ended. */
async function refuseWhenBlocked(env: Env, now: number): Promise<void> {
  const b = await readBreakers(env.DB, getConfig(env).breakers, now);
  if (b.blocked)
    throw new AppError(
      "breaker_open",
      `today's spend $${b.day.spentUsd.toFixed(2)} reached the $${b.day.limitUsd} daily block; nothing was replayed or terminated; replay after 00:00 UTC`,
    );
}

/**
 * The replay's row, with the original's spec, before its instance starts (the instance reads the
 * row). If the start then fails before any instance exists, the row goes again: a replay that never
 * ran must not hold the replay key.
 */
async function createReplayTask(
  env: Env,
  { original, init, replayKey, caller }: { original: TaskRow; init: NewTask; replayKey: string; caller: Caller },
  now: number,
): Promise<string> {
  let id: string;
  try {
    id = (await createTask(env.DB, { ...init, replayOf: original.id, replayKey }, now)).id;
  } catch (err) {
    if (isUniqueViolation(err)) throw new AppError("conflict", ALREADY, { cause: err });
    throw err;
  }
  try {
    if (original.spec) await setSpec(env.DB, { taskId: id, spec: original.spec }, now);
    await startExecute(env, ExecuteInput.parse({ taskId: id, waitSeconds: 0 }), { waitSeconds: 0, caller });
  } catch (err) {
    await forgetIfNeverStarted(env, id);
    throw err;
  }
  return id;
}

async function forgetIfNeverStarted(env: Env, taskId: string): Promise<void> {
  const started = await env.EXECUTE_WORKFLOW.get(taskId).then(
    () => true,
    // Anything but "no such instance" may mean it exists: keep the row rather than orphan an instance.
    (err: unknown) => !isInstanceMissing(err),
  );
  if (!started)
    await drizzle(env.DB)
      .delete(tasks)
      .where(and(eq(tasks.id, taskId), isNotNull(tasks.replayOf)));
}

/** Terminate (when asked to) → record → new task → its instance → record. Returns the new task id. */
async function startReplay(
  env: Env,
  {
    original,
    input,
    live,
    caller,
  }: { original: TaskRow; input: ReplayInput; live: LiveInstance | null; caller: Caller },
  now: number,
): Promise<string> {
  const instructions = await lastInstructions(env.DB, original.id);
  const init = replayInit(original, input, instructions);
  await refuseWhenBlocked(env, now);
  const d = drizzle(env.DB);
  if (live) {
    await terminateInstance(original.id, live);
    // Nothing waits any more: the row says so (a late decision is then a 409, not a lost answer).
    await d.batch([
      d
        .update(tasks)
        .set({
          status: "failed",
          waitingFor: null,
          error: `its workflow instance was terminated to replay it (it was ${original.status})`,
          updatedAt: now,
        })
        .where(eq(tasks.id, original.id)),
      d.insert(decisions).values({
        id: newId("d", now),
        taskId: original.id,
        kind: "replay",
        decision: `terminated its ${live.status} workflow instance to replay it`,
        actor: "replay",
        data: { terminated: live.status },
        createdAt: now,
      }),
    ]);
  }
  const key = await nextReplayKey(env.DB, original, input.force);
  const newTaskId = await createReplayTask(env, { original, init, replayKey: key, caller }, now);
  await d.insert(decisions).values({
    id: newId("d", now),
    taskId: original.id,
    kind: "replay",
    decision: `replayed as ${newTaskId}`,
    actor: "replay",
    data: {
      newTaskId,
      replayKey: key,
      ...(init.executor ? { executor: init.executor } : {}),
      profile: init.profile ?? AUTO,
      climb: init.climb,
      ...(init.budgetUsd ? { budgetUsd: init.budgetUsd } : {}),
      spec: original.spec !== null,
      instructions: instructions !== null,
    },
    createdAt: now,
  });
  return newTaskId;
}

/** Each task started counts as a start of `caller` (admission.ts), as an execute would. */
export async function replay(
  env: Env,
  input: ReplayInput,
  now: number,
  caller: Caller = INTERNAL_CALLER,
): Promise<ReplayReport> {
  const originals = input.taskId
    ? [await requireTask(env.DB, input.taskId)]
    : await listTasks(
        env.DB,
        {
          status: [...new Set(input.status ?? REPLAYABLE_TASK_STATUSES)],
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
    const error = (err: unknown) =>
      items.push({
        originalId: original.id,
        newTaskId: null,
        status: "error",
        reason: toWireError(err).body.error.message,
      });
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
    let live: LiveInstance | null;
    try {
      live = await liveInstance(env, original.id);
    } catch (err) {
      error(err);
      continue;
    }
    if (live && !input.includeWaiting) {
      skip(waitingReason(original, live));
      continue;
    }
    if (input.dryRun) {
      items.push({
        originalId: original.id,
        newTaskId: null,
        status: "would_start",
        ...(live ? { reason: `its ${live.status} workflow instance would be terminated first` } : {}),
      });
      continue;
    }
    try {
      const newTaskId = await startReplay(env, { original, input, live, caller }, now);
      items.push({ originalId: original.id, newTaskId, status: "started" });
    } catch (err) {
      // A concurrent identical replay won the unique replay_key: the same outcome as "done before".
      if (err instanceof AppError && err.code === "conflict" && err.message === ALREADY) skip(ALREADY);
      else error(err);
      // Today's block, the caller's rate or a full cap refuses every later start too: say so instead
      // of trying each.
      if (err instanceof AppError && STOPS.has(err.code)) stopped = err.message;
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
