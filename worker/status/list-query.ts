/** The task list's query string (a GET form) as a ListFilter; a bad value is a 400 naming the field. */
import { ExecutorChoice, ProfileChoice, RepoName, TaskStatus } from "@vault-mcp/contract";
import { z } from "zod";
import { AppError, parseInput } from "../../core/errors.ts";
import type { ListFilter } from "./model.ts";
import { decodeCursor } from "./queries/task-list.ts";

const DAY_MS = 86_400_000;
const blankToUndefined = (v: unknown) => (v === "" ? undefined : v);
const optional = <T extends z.ZodType>(s: T) => z.preprocess(blankToUndefined, s.optional());

const ListQuery = z.object({
  status: z.array(TaskStatus).max(TaskStatus.options.length),
  repo: optional(RepoName),
  asked: optional(z.union([ProfileChoice, ExecutorChoice])),
  kind: optional(z.string().regex(/^[a-z0-9-]{1,40}$/, "kind looks like 'bugfix'")),
  from: optional(z.iso.date()),
  to: optional(z.iso.date()),
  q: optional(z.string().max(200)),
  after: optional(z.string().max(80)),
});

export function listFilter(query: URLSearchParams): ListFilter {
  const raw = Object.fromEntries(
    [...new Set(query.keys())].filter((k) => k !== "status").map((k) => [k, query.get(k)]),
  );
  const q = parseInput(ListQuery, { ...raw, status: [...new Set(query.getAll("status"))] });
  const cursor = q.after ? decodeCursor(q.after) : null;
  if (q.after && !cursor) throw new AppError("invalid_input", "the page cursor is malformed; start again from /status");
  return {
    status: q.status,
    repo: q.repo ?? null,
    asked: q.asked ?? null,
    kind: q.kind ?? null,
    from: q.from ? Date.parse(`${q.from}T00:00:00Z`) : null,
    // `to` is a whole day: tasks created before the next midnight (UTC).
    to: q.to ? Date.parse(`${q.to}T00:00:00Z`) + DAY_MS : null,
    q: q.q?.trim() || null,
    cursor,
  };
}
