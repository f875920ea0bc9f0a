/**
 * Refs read from a repository's files instead of a git process: a job's path asks git for where HEAD
 * is a few times, and each git process costs a few milliseconds of a short job. Only the plain cases
 * are answered (a loose ref holding an object id, a `packed-refs` line, `ref: ` in HEAD); anything
 * else is null and the caller asks git, which is always right. A value is never trusted beyond its
 * shape: a 40 or 64 hex digit object id, a ref name under refs/.
 */
import path from "node:path";
import { readIfExists } from "../fs-missing.ts";

const OBJECT_ID = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;
const REF_NAME = /^refs\/[A-Za-z0-9._/-]{1,400}$/;

/** The repository's common git directory of a worktree's own git directory (`<common>/worktrees/<name>`). */
export const commonDirOf = (treeGitDir: string): string => path.resolve(treeGitDir, "..", "..");

/** What HEAD in `gitDir` names: a branch ref, an object id (detached), or null when unclear. */
export async function readHead(gitDir: string): Promise<{ ref: string } | { id: string } | null> {
  const text = (await readIfExists(path.join(gitDir, "HEAD")))?.toString("utf8").trim();
  if (text === undefined) return null;
  if (OBJECT_ID.test(text)) return { id: text };
  const m = /^ref: (\S+)$/.exec(text);
  return m?.[1] && REF_NAME.test(m[1]) && !m[1].includes("..") ? { ref: m[1] } : null;
}

/** The object id `ref` (e.g. refs/heads/main) points at in `commonDir`: its loose file, else packed-refs. */
export async function readRef(commonDir: string, ref: string): Promise<string | null> {
  if (!REF_NAME.test(ref) || ref.includes("..")) return null;
  const loose = (await readIfExists(path.join(commonDir, ref)))?.toString("utf8").trim();
  if (loose !== undefined) return OBJECT_ID.test(loose) ? loose : null;
  const packed = (await readIfExists(path.join(commonDir, "packed-refs")))?.toString("utf8");
  if (packed === undefined) return null;
  for (const line of packed.split("\n")) {
    const [id, name] = line.split(" ");
    if (name === ref && id !== undefined && OBJECT_ID.test(id)) return id;
  }
  return null;
}

/** The commit a worktree's HEAD is at, when its files say so plainly. */
export async function readHeadCommit(treeGitDir: string): Promise<string | null> {
  const head = await readHead(treeGitDir);
  if (head === null) return null;
  return "id" in head ? head.id : readRef(commonDirOf(treeGitDir), head.ref);
}
