/** The consensus report the workflow stored for a task (transcripts, kind `consensus`). */
import { and, desc, eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { AppError } from "../../core/errors.ts";
import { transcripts } from "../../schema/index.ts";

export async function consensusReport(db: D1Database, taskId: string): Promise<unknown> {
  const [row] = await drizzle(db)
    .select({ content: transcripts.content })
    .from(transcripts)
    .where(and(eq(transcripts.taskId, taskId), eq(transcripts.kind, "consensus")))
    .orderBy(desc(transcripts.createdAt))
    .limit(1);
  if (!row)
    throw new AppError(
      "not_found",
      `task '${taskId}' has no consensus run; consensus runs only at the ladder's consensus tier or with profile 'consensus'`,
    );
  return JSON.parse(row.content) as unknown;
}
