/**
 * Per-run homes ($DATA_DIR/homes/<job>): HOME, TMPDIR and the CLI's config directory for one run.
 *
 * The hook for anything a run needs from the executor (issue "subscription logins"): the executor
 * creates the home, the adapter's `prepare` writes into it as the executor (config files, and a copy
 * of exactly the login material its profile needs), then `handOver` gives the run's identity
 * read/write on what is there, and nothing else. What the CLI writes back (a refreshed token) can be
 * read by the executor after the run (group access; `readBack` falls back to reading as the
 * identity) before `remove` deletes the home. Login homes themselves are never handed over.
 *
 * Modes: the home is owned by the executor, group = the identity's own group, 0770; other slots'
 * identities cannot enter it, and the identity cannot create or rename homes (homes/ is 0711).
 */
import { constants } from "node:fs";
import { chmod, chown, lstat, mkdir, open, readdir, rm } from "node:fs/promises";
import path from "node:path";
import { isMissing } from "../fs-missing.ts";
import type { AgentIdentity } from "./identities.ts";

export interface HomeOwner {
  identity: AgentIdentity;
  /** Runs as the identity: gives the executor back what the identity locked away (run-as.ts). */
  fixPermissions(dir: string): Promise<void>;
}

/** Creates `root/name`; it must not exist (a name is never reused, nothing planted is followed). */
export async function createHome(root: string, name: string, owner: HomeOwner | null): Promise<string> {
  await mkdir(root, { recursive: true, mode: 0o711 });
  const dir = path.join(root, name);
  await mkdir(dir, { mode: 0o700 });
  if (owner) {
    await chown(dir, -1, owner.identity.gid);
    await chmod(dir, 0o770);
  }
  return dir;
}

/** Group bits mirror the owner's: what the executor may read/write there, the identity may too. */
const withGroup = (mode: number) => (mode & 0o777) | ((mode & 0o700) >> 3);

/**
 * Gives the run's identity what `prepare` wrote into the home (the executor created those entries
 * under its own group, often 0600/0700). Symlinks are left alone: lchown/chmod would follow them.
 */
export async function handOver(dir: string, owner: HomeOwner | null): Promise<void> {
  if (!owner) return;
  const walk = async (p: string): Promise<void> => {
    const st = await lstat(p);
    if (st.isSymbolicLink()) return;
    if (st.gid !== owner.identity.gid) await chown(p, -1, owner.identity.gid);
    if ((st.mode & 0o777) !== withGroup(st.mode)) await chmod(p, withGroup(st.mode));
    if (st.isDirectory()) await Promise.all((await readdir(p)).map((e) => walk(path.join(p, e))));
  };
  await walk(dir);
}

/**
 * Reads a file the CLI wrote in the home (e.g. a token it refreshed), as the executor; when the CLI
 * made it private to its identity, after giving the group access back (as the identity). Only a
 * regular file reached through real directories is read: an agent may have planted a symlink to
 * one of the executor's files. (The identity's processes are gone by then: nothing can swap a path
 * between the check and the read.) null when the file is not there (or is a link); a read that fails
 * otherwise throws.
 */
export async function readBack(dir: string, rel: string, owner: HomeOwner | null): Promise<Buffer | null> {
  const parts = path.normalize(rel).split(path.sep).filter(Boolean);
  if (parts.length === 0 || parts.includes("..")) throw new Error(`readBack: ${rel} is not a path inside the home`);
  const attempt = async (): Promise<Buffer | null> => {
    try {
      return await readThrough();
    } catch (err) {
      // ELOOP: O_NOFOLLOW met a link planted after the lstat; like a link, it is not read.
      if (isMissing(err) || (err as NodeJS.ErrnoException).code === "ELOOP") return null;
      throw err;
    }
  };
  const readThrough = async (): Promise<Buffer | null> => {
    let p = dir;
    for (const [i, part] of parts.entries()) {
      p = path.join(p, part);
      const st = await lstat(p);
      if (i < parts.length - 1 ? !st.isDirectory() : !st.isFile()) return null;
    }
    const fh = await open(p, constants.O_RDONLY | constants.O_NOFOLLOW);
    try {
      return await fh.readFile();
    } finally {
      await fh.close();
    }
  };
  try {
    return await attempt();
  } catch (err) {
    if (!owner || (err as NodeJS.ErrnoException).code !== "EACCES") throw err;
  }
  await owner.fixPermissions(dir);
  return attempt();
}

/** Deletes the home; what the identity locked away is first given back to the executor. */
export async function removeHome(dir: string, owner: HomeOwner | null): Promise<void> {
  try {
    await rm(dir, { recursive: true, force: true });
    return;
  } catch (err) {
    if (!owner) throw err;
  }
  await owner.fixPermissions(dir);
  await rm(dir, { recursive: true, force: true });
}
