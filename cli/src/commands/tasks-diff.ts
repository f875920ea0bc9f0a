import { DiffSide, TaskDiffPage } from "@vault-mcp/contract";
import { parseFlags, taskId, UsageError } from "../args.ts";
import { type Command, connect } from "../command.ts";
import { CliError, orUnknownTask } from "../http.ts";

/** The executor serves at most 16 MiB of a diff, in pages of 64 KiB: 256 pages, and a margin. */
const MAX_PAGES = 300;

/** `git diff --stat`'s kind of header: each file with its +/−, then the totals. */
export function statLines(p: TaskDiffPage): string[] {
  if (!p.stat) return [];
  const width = Math.max(0, ...p.stat.files.map((f) => f.path.length));
  return [
    ...p.stat.files.map(
      (f) => ` ${f.path.padEnd(width)} | ${f.added === null ? "binary" : `+${f.added} -${f.deleted ?? 0}`}`,
    ),
    ` ${p.stat.files.length} file${p.stat.files.length === 1 ? "" : "s"} changed, +${p.stat.added} -${p.stat.deleted} (attempt ${p.attempt}, side ${p.side}, ${p.base.slice(0, 12)}..${p.commit?.slice(0, 12) ?? "(no change)"})`,
  ];
}

export const tasksDiff: Command = {
  name: "tasks diff",
  summary: "Print a task's change as a unified diff (diffstat first), to review before closing it.",
  about: `The diff of the task's succeeded attempt against the commit it started from, read from the
executor in pages of at most 64 KB. Without --page every page is fetched and printed; with --page
one page is printed (the first, or the one --cursor names) and the next page's command goes to
stderr. A consensus attempt has two sides: --side b is its second model.`,
  usage: ["tasks diff <id> [--side a|b] [--page [--cursor <cursor>]] [--json]"],
  flags: `  --side <a|b>       the side of a consensus attempt (default a)
  --page             one page only (with its cursor for the next)
  --cursor <cursor>  with --page: the page after the one that gave this cursor
  --json             the API's answer as JSON (with --page one page, else {pages})`,
  examples: ["vault tasks diff t-20261124-1530-ab12cd", "vault tasks diff t-20261124-1530-ab12cd --page"],
  async run(args, io) {
    const { values, positionals } = parseFlags(args, {
      side: { type: "string" },
      page: { type: "boolean" },
      cursor: { type: "string" },
      json: { type: "boolean" },
    });
    if (positionals.length > 1) throw new UsageError(`tasks diff takes one task id, not ${positionals.length}`);
    const id = taskId(positionals[0]);
    const side = DiffSide.safeParse(values.side ?? "a");
    if (!side.success) throw new UsageError(`--side takes a or b, not '${values.side}'`);
    if (values.cursor !== undefined && !values.page) throw new UsageError("--cursor goes with --page");
    const api = connect(values, io);
    const fetchPage = (cursor: string | undefined) => {
      const q = new URLSearchParams({ side: side.data, ...(cursor ? { cursor } : {}) });
      return api.get(`/api/tasks/${id}/diff?${q}`, TaskDiffPage).catch(orUnknownTask(id));
    };
    if (values.page) {
      const page = await fetchPage(values.cursor);
      if (values.json) io.out(JSON.stringify(page, null, 2));
      else io.out([...statLines(page), ...(page.stat ? [""] : []), page.text.replace(/\n$/, "")].join("\n"));
      if (page.cursor) io.err(`next page: vault tasks diff ${id} --side ${side.data} --page --cursor ${page.cursor}`);
      return 0;
    }
    const pages: TaskDiffPage[] = [];
    let cursor: string | undefined;
    do {
      if (pages.length >= MAX_PAGES)
        throw new CliError(`the diff has more than ${MAX_PAGES} pages; read it with --page`);
      const page = await fetchPage(cursor);
      pages.push(page);
      cursor = page.cursor ?? undefined;
    } while (cursor !== undefined);
    if (values.json) {
      io.out(JSON.stringify({ pages }, null, 2));
      return 0;
    }
    const first = pages[0];
    const text = pages.map((p) => p.text).join("");
    io.out([...(first ? statLines(first) : []), "", text.replace(/\n$/, "")].join("\n"));
    if (pages.at(-1)?.truncated) io.err("the diff is larger than the executor serves: it ends early");
    return 0;
  },
};
