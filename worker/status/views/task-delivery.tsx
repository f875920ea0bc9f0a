/**
 * Delivery (issue 17): where the change went, and the diff. Both render only when their data exists:
 * `view.delivery` once the task row records branch, commit, diffstat and PR URL; the diff once a
 * DiffFetcher is wired (routes.ts passes none today).
 */
import type { FC } from "hono/jsx";
import type { DeliveryView, DiffPage, Diffstat } from "../model.ts";
import { safeHref, shown } from "../text.ts";

export const DiffstatLine: FC<{ stat: Diffstat }> = ({ stat }) => (
  <span class="diffstat">
    {stat.files} file{stat.files === 1 ? "" : "s"} <span class="add">+{stat.added}</span>{" "}
    <span class="del">−{stat.deleted}</span>
  </span>
);

export const Delivery: FC<{ delivery: DeliveryView | null }> = ({ delivery }) => {
  if (!delivery) return null;
  const pr = safeHref(delivery.prUrl);
  return (
    <section class="delivery" id="delivery">
      <h2>Delivery</h2>
      <dl>
        {delivery.branch ? (
          <>
            <dt>Branch</dt>
            <dd>
              <code>{delivery.branch}</code>
              {delivery.commit ? <code> @ {delivery.commit.slice(0, 12)}</code> : null}
            </dd>
          </>
        ) : null}
        {delivery.diffstat ? (
          <>
            <dt>Change</dt>
            <dd>
              <DiffstatLine stat={delivery.diffstat} />
            </dd>
          </>
        ) : null}
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
      {delivery.failed ? <p class="notice error">Delivery failed: {shown(delivery.message)}</p> : null}
    </section>
  );
};

/** One diff line's class: added, deleted, a hunk or file header. */
function lineClass(line: string): string | undefined {
  if (line.startsWith("+++") || line.startsWith("---") || line.startsWith("diff ")) return "file";
  if (line.startsWith("@@")) return "hunk";
  if (line.startsWith("+")) return "add";
  if (line.startsWith("-")) return "del";
  return undefined;
}

export const Diff: FC<{ diff: DiffPage | null }> = ({ diff }) =>
  diff ? (
    <section class="diff" id="diff">
      <h2>
        Diff <DiffstatLine stat={diff.diffstat} />
      </h2>
      {diff.binary.length ? <p class="meta">binary: {diff.binary.map(shown).join(", ")}</p> : null}
      <pre class="diff-text">
        {shown(diff.text)
          .split("\n")
          .map((l) => (
            <span class={lineClass(l)}>{`${l}\n`}</span>
          ))}
      </pre>
    </section>
  ) : null;
