/** The task list: filters (a GET form, so a filtered list is a link), rows, and the next page. */
import { AUTO, ExecutorChoice, ProfileName, TaskStatus } from "@vault-mcp/contract";
import type { FC } from "hono/jsx";
import type { ListFilter, TaskListPage } from "../model.ts";
import type { Session } from "../session.ts";
import { ago, money, safeHref } from "../text.ts";
import { Layout, Notice, StatusBadge } from "./layout.tsx";

const ASKED = [...new Set([AUTO, ...ProfileName.options, ...ExecutorChoice.options])];

/** The task's pull request, only as an http(s) link (a stored `javascript:` URL is no link). */
const PrLink: FC<{ url: string | null }> = ({ url }) => {
  const href = safeHref(url);
  const number = href ? /\/pull\/(\d+)$/.exec(href)?.[1] : undefined;
  return href ? (
    <a href={href} class="pr-link" title={href}>
      {number ? `#${number}` : "PR"}
    </a>
  ) : null;
};

const day = (ms: number | null) => (ms === null ? "" : new Date(ms).toISOString().slice(0, 10));

/** The list's query string for `filter`, optionally with another cursor. */
export function listQuery(f: ListFilter, cursor: string | null): string {
  const q = new URLSearchParams();
  for (const s of f.status) q.append("status", s);
  if (f.repo) q.set("repo", f.repo);
  if (f.asked) q.set("asked", f.asked);
  if (f.kind) q.set("kind", f.kind);
  if (f.from !== null) q.set("from", day(f.from));
  if (f.to !== null) q.set("to", day(f.to - 86_400_000));
  if (f.q) q.set("q", f.q);
  if (cursor) q.set("after", cursor);
  const s = q.toString();
  return s ? `?${s}` : "";
}

const Select: FC<{ name: string; label: string; value: string | null; choices: readonly string[] }> = ({
  name,
  label,
  value,
  choices,
}) => (
  <label>
    {label}
    <select name={name}>
      <option value="">any</option>
      {choices.map((c) => (
        <option value={c} selected={c === value}>
          {c}
        </option>
      ))}
    </select>
  </label>
);

const Filters: FC<{ filter: ListFilter; repos: string[]; kinds: string[] }> = ({ filter, repos, kinds }) => (
  <form method="get" action="/status" class="filters" id="filters">
    <fieldset class="statuses">
      <legend>Status</legend>
      {TaskStatus.options.map((s) => (
        <label class="check">
          <input type="checkbox" name="status" value={s} checked={filter.status.includes(s)} />
          {s.replace("_", " ")}
        </label>
      ))}
    </fieldset>
    <Select name="repo" label="Repo" value={filter.repo} choices={repos} />
    <Select name="asked" label="Profile / executor" value={filter.asked} choices={ASKED} />
    <Select name="kind" label="Kind" value={filter.kind} choices={kinds} />
    <label>
      From
      <input type="date" name="from" value={day(filter.from)} />
    </label>
    <label>
      To
      <input type="date" name="to" value={filter.to === null ? "" : day(filter.to - 86_400_000)} />
    </label>
    <label class="grow">
      Search
      <input type="search" name="q" value={filter.q ?? ""} placeholder="task id or words of the prompt" />
    </label>
    <button type="submit">Filter</button>
    <a href="/status" class="button">
      Clear
    </a>
  </form>
);

export const TasksPage: FC<{
  session: Session;
  filter: ListFilter;
  page: TaskListPage;
  repos: string[];
  kinds: string[];
  now: number;
  notice: string | null;
}> = ({ session, filter, page, repos, kinds, now, notice }) => (
  <Layout title="Tasks" section="tasks" session={session}>
    <h1>Tasks</h1>
    <Notice kind="ok" text={notice} />
    <Filters filter={filter} repos={repos} kinds={kinds} />
    {page.rows.length === 0 ? (
      <p class="empty" id="no-tasks">
        No task matches.
      </p>
    ) : (
      <table class="tasks" id="tasks">
        <thead>
          <tr>
            <th>Status</th>
            <th>Task</th>
            <th>Repo</th>
            <th>Asked</th>
            <th class="num">Attempts</th>
            <th class="num">Cost</th>
            <th class="num">Age</th>
            <th>PR</th>
          </tr>
        </thead>
        <tbody>
          {page.rows.map((t) => (
            <tr data-task={t.id} data-status={t.status}>
              <td>
                <StatusBadge status={t.status} />
              </td>
              <td class="what">
                <a href={`/status/tasks/${t.id}`}>{t.title || "(no prompt)"}</a>
                <small>
                  {t.id} · {t.kind}
                </small>
              </td>
              <td>{t.repo}</td>
              <td>{t.asked}</td>
              {/* Element Timing (the benchmark's "rows painted") reports text in a cell, not in a link. */}
              <td class="num" elementtiming="task-row">
                {t.attempts}
              </td>
              <td class="num">{money(t.costUsd)}</td>
              <td class="num" title={new Date(t.createdAt).toISOString()}>
                {ago(now - t.createdAt)}
              </td>
              <td>
                <PrLink url={t.prUrl} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    )}
    <nav class="pages">
      {filter.cursor ? <a href={`/status${listQuery(filter, null)}`}>Newest</a> : null}
      {page.next ? (
        <a href={`/status${listQuery(filter, page.next)}`} id="next-page" rel="next">
          Older →
        </a>
      ) : null}
    </nav>
  </Layout>
);
