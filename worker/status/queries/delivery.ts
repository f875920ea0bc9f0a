/**
 * A task's change and its delivery (issue 17) as the task page shows it, from the task row's change
 * columns (written by the workflow's `write` and `deliver #n` steps, and by `vault deliver`).
 */
import type { TaskRow } from "../../../schema/index.ts";
import { DELIVERY_FAILED } from "../../../workflows/steps/deliver.ts";
import type { DeliveryView } from "../model.ts";
import { shown } from "../text.ts";

/** Null while the task has no change and no delivery was tried. */
export function deliveryOf(t: TaskRow): DeliveryView | null {
  const failed = t.flags.includes(DELIVERY_FAILED);
  if (t.commit === null && t.delivery === null && !failed) return null;
  return {
    branch: t.branch,
    commit: t.commit,
    prUrl: t.prUrl,
    diffstat:
      t.diffFiles === null ? null : { files: t.diffFiles, added: t.diffAdded ?? 0, deleted: t.diffDeleted ?? 0 },
    deliver: t.deliver,
    state: t.delivery,
    deliveredAt: t.deliveredAt,
    failed,
    message: t.deliveryError ? shown(t.deliveryError) : null,
  };
}
