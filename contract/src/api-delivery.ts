/**
 * The REST answers about repos, a task's change and its delivery (docs/API.md): the Worker's
 * services return these types and the `vault` CLI parses with them. Like api.ts, `z.object` strips
 * what it does not know, so a Worker that adds a field does not break an older CLI.
 */
import { z } from "zod";
import { DeliverSetting, DiffSide } from "./delivery.ts";

/** A repo registered by URL: what a task may name as `repo`, and where its work goes. */
export const RepoView = z.object({
  name: z.string(),
  url: z.string(),
  defaultBranch: z.string(),
  deliver: DeliverSetting,
  /** `OWNER/REPO` where pull requests are opened; null: none (push only). */
  github: z.string().nullable(),
  createdAt: z.number(),
  updatedAt: z.number(),
});
export type RepoView = z.infer<typeof RepoView>;

/** `GET /api/repos`. */
export const RepoList = z.object({ repos: z.array(RepoView) });
export type RepoList = z.infer<typeof RepoList>;

/** `POST /api/repos`: the repo as stored; `created` false when an existing name was updated. */
export const RepoSaved = z.object({ repo: RepoView, created: z.boolean() });
export type RepoSaved = z.infer<typeof RepoSaved>;

/** `DELETE /api/repos/:name`. */
export const RepoRemoved = z.object({ name: z.string(), removed: z.boolean() });
export type RepoRemoved = z.infer<typeof RepoRemoved>;

/**
 * Where a delivery stands: `delivered` (on the remote, with its pull request for `pr`), `failed`
 * (`deliveryError` says what to fix; `vault deliver` tries again), `discarded` (closed with
 * discard: the pull request closed, the branch deleted).
 */
export const DeliveryState = z.enum(["delivered", "failed", "discarded"]);
export type DeliveryState = z.infer<typeof DeliveryState>;

/**
 * A succeeded task's change, beside its result: the branch (`vault/<taskId>` on the remote once
 * delivered, else the attempt's branch on the executor), the commit, the diffstat and the pull request.
 */
export const TaskChange = z.object({
  deliver: DeliverSetting,
  branch: z.string(),
  commit: z.string(),
  files: z.number(),
  added: z.number(),
  deleted: z.number(),
  /** null: not delivered (deliver `none`, or not yet). */
  delivery: DeliveryState.nullable(),
  prUrl: z.string().nullable(),
  deliveryError: z.string().nullable(),
});
export type TaskChange = z.infer<typeof TaskChange>;

/** `POST /api/tasks/:id/deliver` (and the workflow tool's `deliver`): the change after a delivery that worked. */
export const TaskDelivered = z.object({ taskId: z.string(), change: TaskChange });
export type TaskDelivered = z.infer<typeof TaskDelivered>;

const DiffFile = z.object({ path: z.string(), added: z.number().nullable(), deleted: z.number().nullable() });

/**
 * `GET /api/tasks/:id/diff` and `workflow_query diff`: one page (≤ 64 KiB of text) of the unified
 * diff of the task's succeeding attempt against its base. Concatenated, the pages' texts are the
 * whole diff; `cursor` asks for the next page (null on the last). A consensus attempt has two sides.
 */
export const TaskDiffPage = z.object({
  taskId: z.string(),
  attempt: z.number(),
  jobId: z.string(),
  side: DiffSide,
  /** The sides there are: `["a"]`, or `["a", "b"]` for a consensus attempt. */
  sides: z.array(DiffSide),
  base: z.string(),
  commit: z.string().nullable(),
  /** On the first page only. */
  stat: z.object({ files: z.array(DiffFile), added: z.number(), deleted: z.number() }).nullable(),
  text: z.string(),
  cursor: z.string().nullable(),
  truncated: z.boolean(),
});
export type TaskDiffPage = z.infer<typeof TaskDiffPage>;
