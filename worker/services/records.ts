/** Checkpoints, decisions and transcripts: append-only records the orchestrator keeps per task. */

import { DecisionKind, TaskId } from "@vault-mcp/contract";
import { desc, eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { z } from "zod";
import { AppError } from "../../core/errors.ts";
import { newId } from "../../core/ids.ts";
import { boundedJson } from "../../core/json-limits.ts";
import { capText } from "../../core/text.ts";
import {
  type CheckpointRow,
  checkpoints,
  type DecisionRow,
  decisions,
  type TranscriptRow,
  transcripts,
} from "../../schema/index.ts";
import { requireTask } from "./tasks.ts";

const MAX_CHECKPOINT_BYTES = 256 * 1024;

export const CheckpointCreate = z.strictObject({
  taskId: TaskId.optional().describe("Task the checkpoint belongs to (optional)."),
  label: z.string().min(1).max(200).describe("Short name, e.g. 'after-refactor'."),
  state: boundedJson({ maxBytes: MAX_CHECKPOINT_BYTES, what: "state" }).describe(
    "Any JSON state worth restoring later: object, array, string, number or boolean (≤ 256 KiB, ≤ 64 levels deep).",
  ),
});
export const DecisionCreate = z.strictObject({
  taskId: TaskId.optional(),
  kind: DecisionKind.default("note"),
  decision: z.string().min(1).max(2000).describe("What was decided."),
  rationale: z.string().max(20_000).optional().describe("Why."),
  actor: z.string().max(100).default("orchestrator"),
});
export const TranscriptCreate = z.strictObject({
  taskId: TaskId,
  kind: z.enum(["note", "cli", "verify"]).default("note"),
  content: z.string().min(1).describe("Text to keep; over 1 MiB is truncated."),
  attempt: z.number().int().min(1).optional(),
});

const encoder = new TextEncoder();

/** A transcript without its content (up to 1 MiB): what lists and inserts hand back. */
const TRANSCRIPT_META = {
  id: transcripts.id,
  taskId: transcripts.taskId,
  stageId: transcripts.stageId,
  attempt: transcripts.attempt,
  kind: transcripts.kind,
  bytes: transcripts.bytes,
  truncated: transcripts.truncated,
  createdAt: transcripts.createdAt,
};

async function taskMustExist(db: D1Database, taskId: string | undefined): Promise<void> {
  if (taskId !== undefined) await requireTask(db, taskId);
}

function checkStateSize(state: unknown): void {
  if (encoder.encode(JSON.stringify(state)).byteLength > MAX_CHECKPOINT_BYTES) {
    throw new AppError(
      "invalid_input",
      "checkpoint state is larger than 256 KiB; store a summary or use the task tool (KV)",
    );
  }
}

export async function createCheckpoint(
  db: D1Database,
  input: z.infer<typeof CheckpointCreate>,
  now: number,
): Promise<CheckpointRow> {
  checkStateSize(input.state);
  await taskMustExist(db, input.taskId);
  const [row] = await drizzle(db)
    .insert(checkpoints)
    .values({
      id: newId("cp", now),
      taskId: input.taskId ?? null,
      label: input.label,
      state: input.state,
      createdAt: now,
    })
    .returning();
  if (!row) throw new AppError("internal", "checkpoint was not stored");
  return row;
}

export async function createDecision(
  db: D1Database,
  input: z.infer<typeof DecisionCreate>,
  now: number,
): Promise<DecisionRow> {
  await taskMustExist(db, input.taskId);
  const [row] = await drizzle(db)
    .insert(decisions)
    .values({
      id: newId("d", now),
      taskId: input.taskId ?? null,
      kind: input.kind,
      decision: input.decision,
      rationale: input.rationale ?? null,
      actor: input.actor,
      createdAt: now,
    })
    .returning();
  if (!row) throw new AppError("internal", "decision was not stored");
  return row;
}

export async function createTranscript(
  db: D1Database,
  input: z.infer<typeof TranscriptCreate>,
  now: number,
): Promise<Omit<TranscriptRow, "content">> {
  await requireTask(db, input.taskId);
  const capped = capText(input.content);
  const [row] = await drizzle(db)
    .insert(transcripts)
    .values({
      id: newId("tr", now),
      taskId: input.taskId,
      attempt: input.attempt ?? null,
      kind: input.kind,
      content: capped.content,
      bytes: capped.bytes,
      truncated: capped.truncated,
      createdAt: now,
    })
    .returning(TRANSCRIPT_META);
  if (!row) throw new AppError("internal", "transcript was not stored");
  return row;
}

export const ListQuery = z.strictObject({
  taskId: TaskId.optional().describe("Only the records of this task."),
  limit: z.coerce.number().int().min(1).max(200).default(50).describe("list: how many, newest first (default 50)."),
});

export async function listCheckpoints(db: D1Database, q: z.infer<typeof ListQuery>): Promise<CheckpointRow[]> {
  const d = drizzle(db);
  const base = d.select().from(checkpoints);
  return (q.taskId ? base.where(eq(checkpoints.taskId, q.taskId)) : base)
    .orderBy(desc(checkpoints.createdAt))
    .limit(q.limit);
}

export async function listDecisions(db: D1Database, q: z.infer<typeof ListQuery>): Promise<DecisionRow[]> {
  const d = drizzle(db);
  const base = d.select().from(decisions);
  return (q.taskId ? base.where(eq(decisions.taskId, q.taskId)) : base)
    .orderBy(desc(decisions.createdAt))
    .limit(q.limit);
}

/** Lists transcripts without their content (which can be 1 MiB each); get one by id for the text. */
export async function listTranscripts(
  db: D1Database,
  q: z.infer<typeof ListQuery>,
): Promise<Omit<TranscriptRow, "content">[]> {
  const d = drizzle(db);
  const base = d.select(TRANSCRIPT_META).from(transcripts);
  return (q.taskId ? base.where(eq(transcripts.taskId, q.taskId)) : base)
    .orderBy(desc(transcripts.createdAt))
    .limit(q.limit);
}

export async function getRecord<T extends "checkpoint" | "decision" | "transcript">(
  db: D1Database,
  type: T,
  id: string,
): Promise<CheckpointRow | DecisionRow | TranscriptRow> {
  const d = drizzle(db);
  const rows =
    type === "checkpoint"
      ? await d.select().from(checkpoints).where(eq(checkpoints.id, id)).limit(1)
      : type === "decision"
        ? await d.select().from(decisions).where(eq(decisions.id, id)).limit(1)
        : await d.select().from(transcripts).where(eq(transcripts.id, id)).limit(1);
  const row = rows[0];
  if (!row) throw new AppError("not_found", `no ${type} '${id}'; list them first`);
  return row;
}

/** `workflow write`: the orchestrator's write-up (a `note` transcript) and/or a checkpoint. */
const WriteUpFields = {
  content: z
    .string()
    .min(1)
    .max(1_000_000)
    .optional()
    .describe("write: your write-up (review notes, outcome, next steps), kept as a 'note' transcript."),
  checkpoint: CheckpointCreate.omit({ taskId: true })
    .optional()
    .describe("write: a checkpoint to save with it, {label, state}."),
};
export const hasWriteUp = (w: { content?: string | undefined; checkpoint?: unknown }) =>
  w.content !== undefined || w.checkpoint !== undefined;
export const WRITE_UP_NEEDS = { message: "give content, a checkpoint, or both", path: ["content"] };
/** `workflow write` and `POST /api/tasks/:id/write` (WriteUpShape without the refinement, for extending). */
export const WriteUpShape = z.strictObject({ taskId: TaskId, ...WriteUpFields });
export const WriteUp = WriteUpShape.refine(hasWriteUp, WRITE_UP_NEEDS);
export type WriteUp = z.infer<typeof WriteUp>;

/** Both rows in one D1 batch: a bad half (e.g. an oversize state) is refused before anything is written. */
export async function writeUp(
  db: D1Database,
  input: WriteUp,
  now: number,
): Promise<{ taskId: string; transcriptId?: string; checkpointId?: string }> {
  const { taskId } = input;
  if (input.checkpoint) checkStateSize(input.checkpoint.state);
  await requireTask(db, taskId);
  const d = drizzle(db);
  const out: { taskId: string; transcriptId?: string; checkpointId?: string } = { taskId };
  const writes = [];
  if (input.content !== undefined) {
    const capped = capText(input.content);
    out.transcriptId = newId("tr", now);
    writes.push(
      d.insert(transcripts).values({ id: out.transcriptId, taskId, kind: "note", ...capped, createdAt: now }),
    );
  }
  if (input.checkpoint) {
    out.checkpointId = newId("cp", now);
    writes.push(
      d.insert(checkpoints).values({
        id: out.checkpointId,
        taskId,
        label: input.checkpoint.label,
        state: input.checkpoint.state,
        createdAt: now,
      }),
    );
  }
  const [first, ...rest] = writes;
  if (first) await d.batch([first, ...rest]);
  return out;
}
