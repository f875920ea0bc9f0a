/**
 * A worktree's top directory decides who may enter it: the executor always, the slot's identity
 * (group, 0770) only while one of its runs holds the tree. A pooled or kept (failed) tree is locked
 * to 0700 so that a later run of the same slot cannot read what an earlier job left there.
 */
import { chmod, chown, lstat, mkdir, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import type { WorktreeSlot } from "../interfaces.ts";

/** Creates the (empty) tree directory git will check out into, open to the slot's group. */
export async function createTreeDir(dir: string, slot: WorktreeSlot | undefined): Promise<void> {
  await ensureSearchable(path.dirname(dir), slot !== undefined);
  await mkdir(dir, { mode: 0o700 });
  if (slot) await openTree(dir, slot);
}

/** WORKTREES_DIR/<repo>: searchable by the identities (the tree below decides), listable by none. */
async function ensureSearchable(dir: string, sandboxed: boolean): Promise<void> {
  await mkdir(dir, { recursive: true });
  if (sandboxed && ((await lstat(dir)).mode & 0o777) !== 0o711) await chmod(dir, 0o711);
}

export async function openTree(dir: string, slot: WorktreeSlot): Promise<void> {
  await chown(dir, -1, slot.gid);
  await chmod(dir, 0o770);
}

export async function lockTree(dir: string): Promise<void> {
  await chmod(dir, 0o700);
}

/**
 * Puts back the `.git` file git wrote at `worktree add` (the agent may have replaced it with its own
 * directory or a symlink), so `git worktree prune` keeps the tree. rm first, then an exclusive
 * create: a planted symlink is removed, never followed.
 */
export async function restoreGitFile(dir: string, gitDir: string): Promise<void> {
  const file = path.join(dir, ".git");
  await rm(file, { recursive: true, force: true });
  await writeFile(file, `gitdir: ${gitDir}\n`, { flag: "wx" });
}
