/**
 * What a worktree directory is for, stored beside it (`<dir>.state.json`) so that it survives an
 * executor restart, when the in-memory pool is gone:
 *   idle  cleaned and in the pool: may be reused after a restart
 *   kept  a failed job's tree, kept for a human until `keepUntil` (ms since epoch)
 *   (no file) held by a running job; found after a restart, it is a crashed job's tree and is
 *   treated like a kept one.
 * A sidecar rather than a file inside the tree: a kept tree stays exactly as the CLI left it.
 */
import { readFile, rename, rm, writeFile } from "node:fs/promises";
import { z } from "zod";
import { isMissing } from "../fs-missing.ts";
import { log } from "../log.ts";

export const SlotState = z.discriminatedUnion("state", [
  z.strictObject({ state: z.literal("idle") }),
  z.strictObject({
    state: z.literal("kept"),
    keepUntil: z.number().int(),
    branch: z.string(),
    reason: z.enum(["failed", "orphaned"]),
  }),
]);
export type SlotState = z.infer<typeof SlotState>;

export const STATE_SUFFIX = ".state.json";

function statePath(dir: string): string {
  return `${dir}${STATE_SUFFIX}`;
}

/** Written to a temporary name and renamed, so a crash never leaves half a file. */
export async function writeSlotState(dir: string, state: SlotState): Promise<void> {
  const tmp = `${statePath(dir)}.tmp`;
  await writeFile(tmp, JSON.stringify(state));
  await rename(tmp, statePath(dir));
}

/**
 * null when there is no state file; an unreadable or torn one counts as none, on purpose: the tree is
 * then kept (as orphaned) rather than reused or deleted. A read error other than "missing" is logged.
 */
export async function readSlotState(dir: string): Promise<SlotState | null> {
  let text: string;
  try {
    text = await readFile(statePath(dir), "utf8");
  } catch (err) {
    if (!isMissing(err)) log("warn", "slot_state_unreadable", { dir, error: String(err) });
    return null;
  }
  try {
    const parsed = SlotState.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : null;
  } catch {
    return null; // a torn write: the tree is kept
  }
}

export async function clearSlotState(dir: string): Promise<void> {
  await rm(statePath(dir), { force: true });
}
