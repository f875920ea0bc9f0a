/**
 * The task list: newest first, filtered, one page at a time by keyset — the page after `(createdAt,
 * id)` starts strictly below it in `(created_at, id)` order, so page 200 costs what page 1 does
 * (OFFSET would read and drop every row before it). Only short columns are read: the prompt is cut
 * to its head in SQL, so a 100 KB prompt never leaves D1 for the list.
 */
import { and, desc, gte, inArray, lt, type SQL, sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { tasks } from "../../../schema/index.ts";
import type { Cursor, ListFilter, TaskListPage } from "../model.ts";
import { askedOf, firstLine } from "../text.ts";

export const PAGE_SIZE = 50;
const TITLE_CHARS = 160;
const TASK_ID_PREFIX = /^t-[0-9a-z-]{0,30}$/;

export function encodeCursor(c: Cursor): string {
  return `${c.createdAt}_${c.id}`;
}

export function decodeCursor(text: string): Cursor | null {
  const m = /^(\d{1,15})_(t-[0-9a-z-]{1,40})$/.exec(text);
  return m?.[1] && m[2] ? { createdAt: Number(m[1]), id: m[2] } : null;
}

/** `%`, `_` and the escape itself taken literally in a LIKE pattern. */
function likeContains(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

function conditions(f: ListFilter): SQL[] {
  const where: SQL[] = [];
  if (f.status.length) where.push(inArray(tasks.status, f.status));
  if (f.repo) where.push(sql`${tasks.repo} = ${f.repo}`);
  if (f.asked) where.push(sql`(${tasks.profile} = ${f.asked} OR ${tasks.executor} = ${f.asked})`);
  if (f.kind) where.push(sql`${tasks.kind} = ${f.kind}`);
  if (f.from !== null) where.push(gte(tasks.createdAt, f.from));
  if (f.to !== null) where.push(lt(tasks.createdAt, f.to));
  if (f.q) {
    const q = f.q.trim();
    // An id or its prefix: a range on the primary key. Anything else: the prompt contains it
    // (LIKE is case-insensitive for ASCII; it scans the filtered rows, fine at 10k tasks).
    if (TASK_ID_PREFIX.test(q)) where.push(sql`${tasks.id} >= ${q} AND ${tasks.id} < ${`${q}\u{10ffff}`}`);
    else where.push(sql`${tasks.prompt} LIKE ${likeContains(q)} ESCAPE '\\'`);
  }
  if (f.cursor) where.push(sql`(${tasks.createdAt}, ${tasks.id}) < (${f.cursor.createdAt}, ${f.cursor.id})`);
  return where;
}

export async function listTaskPage(db: D1Database, f: ListFilter, pageSize = PAGE_SIZE): Promise<TaskListPage> {
  const where = conditions(f);
  const rows = await drizzle(db)
    .select({
      id: tasks.id,
      status: tasks.status,
      repo: tasks.repo,
      kind: tasks.kind,
      head: sql<string>`substr(${tasks.prompt}, 1, ${TITLE_CHARS * 2})`,
      profile: tasks.profile,
      executor: tasks.executor,
      climb: tasks.climb,
      attempts: tasks.attempts,
      costUsd: tasks.costUsd,
      createdAt: tasks.createdAt,
      prUrl: tasks.prUrl,
    })
    .from(tasks)
    .where(where.length ? and(...where) : undefined)
    .orderBy(desc(tasks.createdAt), desc(tasks.id))
    .limit(pageSize + 1);
  const shown = rows.slice(0, pageSize);
  const last = shown.at(-1);
  return {
    rows: shown.map((r) => ({
      id: r.id,
      status: r.status,
      repo: r.repo,
      kind: r.kind,
      title: firstLine(r.head, TITLE_CHARS),
      asked: askedOf(r),
      attempts: r.attempts,
      costUsd: r.costUsd,
      createdAt: r.createdAt,
      prUrl: r.prUrl,
    })),
    next: rows.length > pageSize && last ? encodeCursor(last) : null,
  };
}

/** The repos and kinds seen, for the filter's choices (two small DISTINCT reads over indexes). */
export async function filterChoices(db: D1Database): Promise<{ repos: string[]; kinds: string[] }> {
  const d = drizzle(db);
  const [repos, kinds] = await d.batch([
    d.selectDistinct({ v: tasks.repo }).from(tasks).orderBy(tasks.repo).limit(200),
    d.selectDistinct({ v: tasks.kind }).from(tasks).orderBy(tasks.kind).limit(200),
  ]);
  return { repos: repos.map((r) => r.v), kinds: kinds.map((r) => r.v) };
}
