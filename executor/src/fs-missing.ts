/**
 * "Not there" is an answer, any other file-system error is a failure. These read a directory or a
 * file that may legitimately be absent (no run logged anything yet, no repos yet, a tree deleted by
 * hand) and answer empty for that case only: EACCES, EIO, EISDIR or ENOSPC are thrown, so a disk
 * error never reads as "nothing there".
 */
import type { Dirent } from "node:fs";
import { readdir, readFile } from "node:fs/promises";

/** ENOENT (it does not exist) or ENOTDIR (a parent is not a directory, so it cannot exist). */
export function isMissing(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return code === "ENOENT" || code === "ENOTDIR";
}

/** The names in `dir`; [] when it does not exist. */
export async function listDir(dir: string, opts: { recursive?: boolean } = {}): Promise<string[]> {
  try {
    return await readdir(dir, { recursive: opts.recursive ?? false });
  } catch (err) {
    if (isMissing(err)) return [];
    throw err;
  }
}

/** The entries of `dir` with their types; [] when it does not exist. */
export async function listEntries(dir: string): Promise<Dirent[]> {
  try {
    return await readdir(dir, { withFileTypes: true });
  } catch (err) {
    if (isMissing(err)) return [];
    throw err;
  }
}

/** The file's bytes; null when it does not exist. */
export async function readIfExists(file: string): Promise<Buffer | null> {
  try {
    return await readFile(file);
  } catch (err) {
    if (isMissing(err)) return null;
    throw err;
  }
}
