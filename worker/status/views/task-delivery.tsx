/**
 * Delivery (issue 17): where the change went (branch, commit, diffstat, pull request, a failed
 * delivery's message), and the diff, one page at a time. The diff is agent output: its text has been
 * made plain (queries/diff.ts) and is escaped here like every child; only http(s) URLs become links.
 */
import type { DiffSide } from "@vault-mcp/contract";
import type { FC } from "hono/jsx";
import type { DeliveryView, DiffPage, DiffSection, Diffstat } from "../model.ts";
import type { Session } from "../session.ts";
import { safeHref, utc } from "../text.ts";
import { Layout } from "./layout.tsx";

/** The diffstat's files listed on the page at most; a larger change says how many more there are. */
const FILES_SHOWN = 100;

export const DiffstatLine: FC<{ stat: Diffstat }> = ({ stat }) => (
  <span class="diffstat">
    {stat.files} file{stat.files === 1 ? "" : "s"} <span class="add">+{stat.added}</span>{" "}
    <span class="del">−{stat.deleted}</span>
  </span>
);

function stateText(d: DeliveryView): string {
  if (d.failed) return "failed";
  if (d.state === "delivered") return d.deliveredAt ? `delivered ${utc(d.deliveredAt)}` : "delivered";
  if (d.state === "discarded") return "discarded (pull request closed, branch deleted)";
  return d.deliver === "none" ? "not delivered (deliver none): the branch stays on the executor" : "not delivered";
}

export const Delivery: FC<{ delivery: DeliveryView | null }> = ({ delivery }) => {
  if (!delivery) return null;
  const pr = safeHref(delivery.prUrl);
  return (
    <section class="delivery" id="delivery" data-delivery={delivery.failed ? "failed" : (delivery.state ?? "none")}>
      <h2>Change</h2>
      <dl>
        {delivery.branch ? (
          <>
            <dt>Branch</dt>
            <dd>
              <code id="delivery-branch">{delivery.branch}</code>
              {delivery.commit ? <code> @ {delivery.commit.slice(0, 12)}</code> : null}
              {delivery.state === "delivered" ? " (on the remote)" : " (on the executor)"}
            </dd>
          </>
        ) : null}
        {delivery.diffstat ? (
          <>
            <dt>Diffstat</dt>
            <dd>
              <DiffstatLine stat={delivery.diffstat} />
            </dd>
          </>
        ) : null}
        <dt>Delivery</dt>
        <dd id="delivery-state">
          {delivery.deliver && delivery.deliver !== "none" ? `${delivery.deliver} · ` : ""}
          {stateText(delivery)}
        </dd>
        {pr ? (
          <>
            <dt>Pull request</dt>
            <dd>
              <a href={pr} id="pr-link">
                {pr}
              </a>
            </dd>
          </>
        ) : null}
      </dl>
      {delivery.failed ? (
        <p class="notice error" id="delivery-error">
          {delivery.message ?? "Delivery failed."}
        </p>
      ) : null}
    </section>
  );
};

/** One diff line's class: a file header, a hunk, added, deleted; none for context. */
function lineClass(line: string): string | null {
  if (/^(?:diff |\+\+\+ |--- |Binary files )/.test(line)) return "file";
  if (line.startsWith("@@")) return "hunk";
  if (line.startsWith("+")) return "add";
  if (line.startsWith("-")) return "del";
  return null;
}

/**
 * The lines in runs of one class, a span a run (context stays bare text): a page of 64 KiB of added
 * lines is one element, not ten thousand, which keeps the page light and quick to lay out.
 */
function lines(text: string) {
  const all = text.split("\n");
  if (all.at(-1) === "") all.pop();
  const runs: { cls: string | null; text: string }[] = [];
  for (const l of all) {
    const cls = lineClass(l);
    const last = runs.at(-1);
    if (last && last.cls === cls) last.text += `${l}\n`;
    else runs.push({ cls, text: `${l}\n` });
  }
  return runs.map((r) => (r.cls ? <span class={r.cls}>{r.text}</span> : r.text));
}

const diffHref = (taskId: string, side: DiffSide, next?: { cursor: string; number: number }) =>
  `/status/tasks/${taskId}/diff?side=${side}${next ? `&cursor=${encodeURIComponent(next.cursor)}&page=${next.number}` : ""}`;

const Sides: FC<{ taskId: string; page: DiffPage }> = ({ taskId, page }) =>
  page.sides.length > 1 ? (
    <nav class="diff-sides" id="diff-sides">
      consensus:{" "}
      {page.sides.map((s) =>
        s === page.side && page.number === 1 ? (
          <strong aria-current="page">side {s}</strong>
        ) : (
          <a href={diffHref(taskId, s)} id={`diff-side-${s}`}>
            side {s}
          </a>
        ),
      )}
    </nav>
  ) : null;

const Files: FC<{ page: DiffPage }> = ({ page }) =>
  page.files.length ? (
    <ul class="diff-files" id="diff-files">
      {page.files.slice(0, FILES_SHOWN).map((f) => (
        <li>
          <code>{f.path}</code>{" "}
          {f.added === null ? (
            <span class="meta">binary</span>
          ) : (
            <span class="diffstat">
              <span class="add">+{f.added}</span> <span class="del">−{f.deleted ?? 0}</span>
            </span>
          )}
        </li>
      ))}
      {page.files.length > FILES_SHOWN ? <li class="meta">… and {page.files.length - FILES_SHOWN} more</li> : null}
    </ul>
  ) : null;

/** A page of the diff: where it is, the diffstat (first page), the text, and the way on. */
export const DiffBody: FC<{ taskId: string; page: DiffPage }> = ({ taskId, page }) => (
  <>
    <p class="meta">
      attempt {page.attempt}
      {page.sides.length > 1 ? ` · side ${page.side}` : ""} · {page.base.slice(0, 12)}..
      {page.commit?.slice(0, 12) ?? "(no change)"}
      {page.number > 1 ? ` · page ${page.number}` : ""}
    </p>
    <Sides taskId={taskId} page={page} />
    <Files page={page} />
    {page.text ? (
      <pre class="diff-text" id="diff-text">
        {lines(page.text)}
      </pre>
    ) : (
      <p class="meta">This side changed nothing.</p>
    )}
    <nav class="pages">
      {page.nextCursor ? (
        <a
          href={diffHref(taskId, page.side, { cursor: page.nextCursor, number: page.number + 1 })}
          id="diff-next"
          rel="next"
        >
          Page {page.number + 1} →
        </a>
      ) : null}
      {!page.nextCursor && page.truncated ? (
        <span class="meta">The diff is larger than the executor serves (16 MiB): it ends here.</span>
      ) : null}
    </nav>
  </>
);

/** The task page's diff section: the first page of side a, or why the diff cannot be read now. */
export const Diff: FC<{ taskId: string; diff: DiffSection | null }> = ({ taskId, diff }) =>
  diff ? (
    <section class="diff" id="diff">
      <h2>Diff {diff.page?.diffstat ? <DiffstatLine stat={diff.page.diffstat} /> : null}</h2>
      {diff.page ? (
        <DiffBody taskId={taskId} page={diff.page} />
      ) : (
        <p class="notice error" id="diff-unavailable">
          The diff cannot be read now: {diff.unavailable}
        </p>
      )}
    </section>
  ) : null;

/** `/status/tasks/:id/diff`: any page of either side, on its own. */
export const DiffPageView: FC<{ taskId: string; page: DiffPage; session: Session }> = ({ taskId, page, session }) => (
  <Layout title={`${taskId} diff`} section="tasks" session={session}>
    <p class="crumbs">
      <a href="/status">Tasks</a> / <a href={`/status/tasks/${taskId}`}>{taskId}</a> / diff
    </p>
    <section class="diff" id="diff">
      <h1>
        Diff{page.sides.length > 1 ? `, side ${page.side}` : ""}
        {page.number > 1 ? `, page ${page.number}` : ""} {page.diffstat ? <DiffstatLine stat={page.diffstat} /> : null}
      </h1>
      <DiffBody taskId={taskId} page={page} />
    </section>
  </Layout>
);
