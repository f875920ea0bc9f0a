/**
 * Replays failed tasks with their original params. Each replay is a new task linked by `replay_of`
 * and recorded in `decisions`; its `replay_key` (unique) makes running the same replay twice a no-op
 * unless `force` is given.
 */
import { drizzle } from "drizzle-orm/d1";
import { z } from "zod";
import { ProfileName } from "@vault-mcp/contract";
import { decisions, type TaskRow } from "../../schema/index.ts";
import { ExecuteInput, TaskId, TaskStatus } from "../../workflows/params.ts";
import { startExecute } from "../../workflows/start.ts";
import { AppError, toWireError } from "../errors.ts";
import { newId } from "./ids.ts";
import { listTasks, requireTask, Since } from "./tasks.ts";

export const REPLAYABLE: readonly TaskStatus[] = ["failed", "halted", "blocked", "needs_human"];

export const ReplayInput = z
  .strictObject({
    taskId: TaskId.optional().describe("Replay this one task."),
    status: z.array(TaskStatus).min(1).optional().describe("Statuses to replay (default failed, halted, blocked, needs_human)."),
    since: Since.optional().describe("Only tasks created within this window, e.g. '24h'."),
    profile: z.string().max(40).optional().describe("Only tasks that asked for this profile."),
    fromTier: ProfileName.optional().describe("Start the replay at this ladder profile instead of the original."),
    dryRun: z.boolean().default(false).describe("List what would be replayed; start nothing."),
    force: z.boolean().default(false).describe("Replay even tasks replayed before."),
    limit: z.number().int().min(1).max(100).default(20),
  })
  .refine((r) => r.taskId !== undefined || r.since !== undefined, { message: "give a taskId, or a 'since' window for a bulk replay", path: ["since"] });
export type ReplayInput = z.input<typeof ReplayInput>;

export interface ReplayItem {
  originalId: string;
  newTaskId: string | null;
  status: "started" | "skipped" | "would_start" | "error";
  reason?: string;
}

export interface ReplayReport {
  dryRun: boolean;
  items: ReplayItem[];
  started: number;
  skipped: number;
  errors: number;
}

function replayKey(original: TaskRow, force: boolean, now: number): string {
  return force ? `replay:${original.id}:${now}` : `replay:${original.id}`;
}

export async function replay(env: Env, raw: unknown, now: number): Promise<ReplayReport> {
  const input = ReplayInput.parse(raw);
  const originals = input.taskId
    ? [await requireTask(env.DB, input.taskId)]
    : await listTasks(env.DB, { status: [...(input.status ?? REPLAYABLE)], since: input.since, profile: input.profile, limit: input.limit }, now);
  const items: ReplayItem[] = [];
  for (const original of originals) {
    if (original.replayOf !== null && !input.taskId) {
      // A replay of a replay only happens when asked for by id; bulk runs replay originals.
      items.push({ originalId: original.id, newTaskId: null, status: "skipped", reason: "is itself a replay" });
      continue;
    }
    if (input.dryRun) {
      const done = !input.force && (await env.DB.prepare("SELECT id FROM tasks WHERE replay_key = ?1").bind(`replay:${original.id}`).first<{ id: string }>());
      items.push(done ? { originalId: original.id, newTaskId: done.id, status: "skipped", reason: "already replayed (use force to replay again)" } : { originalId: original.id, newTaskId: null, status: "would_start" });
      continue;
    }
    const exec = ExecuteInput.parse({
      prompt: original.prompt,
      repo: original.repo,
      ...(original.ref ? { ref: original.ref } : {}),
      profile: input.fromTier ?? original.profile,
      verbosity: original.verbosity,
      ...(original.verify ? { verify: original.verify } : {}),
      ...(original.budgetUsd ? { budgetUsd: original.budgetUsd } : {}),
      kind: original.kind,
      waitSeconds: 0,
    });
    try {
      const out = await startExecute(env, exec, { waitSeconds: 0, replayOf: original.id, replayKey: replayKey(original, input.force, now) });
      await drizzle(env.DB)
        .insert(decisions)
        .values({
          id: newId("d", now),
          taskId: original.id,
          kind: "replay",
          decision: `replayed as ${out.taskId}`,
          actor: "replay",
          data: { newTaskId: out.taskId, profile: exec.profile },
          createdAt: now,
        });
      items.push({ originalId: original.id, newTaskId: out.taskId, status: "started" });
    } catch (err) {
      if (err instanceof AppError && err.code === "conflict") {
        items.push({ originalId: original.id, newTaskId: null, status: "skipped", reason: "already replayed (use force to replay again)" });
      } else {
        items.push({ originalId: original.id, newTaskId: null, status: "error", reason: toWireError(err).body.error.message });
      }
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
