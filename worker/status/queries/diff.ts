/**
 * A task's diff for the status pages: one page at a time through the same service as `GET
 * /api/tasks/:id/diff` (worker/services/diff.ts, which asks the executor), its text made plain. The
 * task page shows the first page of side a and links on; /status/tasks/:id/diff shows any page of
 * either side. A page is at most 64 KiB, so the task page stays within its weight (docs/API.md).
 */
import type { DiffSide, TaskDiffPage } from "@vault-mcp/contract";
import type { Config } from "../../../core/config.ts";
import { AppError, describe, parseInput } from "../../../core/errors.ts";
import { log } from "../../../core/log.ts";
import { TaskDiffQuery, taskDiff } from "../../services/diff.ts";
import type { DiffPage, DiffSection } from "../model.ts";
import { shown } from "../text.ts";

/** Where in a diff: the side, the previous page's cursor (null: the first page) and the page's number. */
export interface DiffAt {
  side: DiffSide;
  cursor: string | null;
  number: number;
}

export const FIRST_PAGE: DiffAt = { side: "a", cursor: null, number: 1 };

function pageOf(p: TaskDiffPage, number: number): DiffPage {
  return {
    attempt: p.attempt,
    side: p.side,
    sides: p.sides,
    base: p.base,
    commit: p.commit,
    diffstat: p.stat ? { files: p.stat.files.length, added: p.stat.added, deleted: p.stat.deleted } : null,
    files: (p.stat?.files ?? []).map((f) => ({ ...f, path: shown(f.path) })),
    text: shown(p.text),
    number,
    nextCursor: p.cursor,
    truncated: p.truncated,
  };
}

/** One page; a refusal (bad cursor 400, no change 409, job gone 404, executor down 503) is thrown as AppError. */
export async function readDiff(env: Env, config: Config, taskId: string, at: DiffAt): Promise<DiffPage> {
  const q = parseInput(TaskDiffQuery, { taskId, side: at.side, ...(at.cursor ? { cursor: at.cursor } : {}) });
  return pageOf(await taskDiff(env, config, q), at.number);
}

/** The task page's section: the first page, or why there is none to show (the page itself still renders). */
export async function diffSection(env: Env, config: Config, taskId: string): Promise<DiffSection> {
  try {
    return { page: await readDiff(env, config, taskId, FIRST_PAGE), unavailable: null };
  } catch (err) {
    if (!(err instanceof AppError)) throw err;
    log("warn", "status_diff_unavailable", { taskId, code: err.code, error: describe(err.cause ?? err) });
    return { page: null, unavailable: err.message };
  }
}

/** The diff page's query string (`side`, `cursor`, `page`); a bad value is a 400 naming the field. */
export function diffAt(query: URLSearchParams): DiffAt {
  const side = query.get("side") || "a";
  if (side !== "a" && side !== "b") throw new AppError("invalid_input", "side: 'a' or 'b'");
  const number = Number(query.get("page") || "1");
  if (!Number.isSafeInteger(number) || number < 1 || number > 100_000)
    throw new AppError("invalid_input", "page: a whole number from 1");
  return { side, cursor: query.get("cursor") || null, number };
}
