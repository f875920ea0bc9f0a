/**
 * Disk use for GET /health: the worktrees, the per-run CLI homes and the job store. Walking a
 * worktree of a large repo takes a while, so /health never waits for it: it reports the last
 * measurement and starts a new one when that is older than a minute.
 */
import type { Dirent } from "node:fs";
import { lstat, readdir } from "node:fs/promises";
import path from "node:path";
import type { DiskUse } from "@vault-mcp/contract";

export const DISK_MEASURE_EVERY_MS = 60_000;

/** Bytes of the files under `dir` (symlinks not followed; a file that vanishes mid-walk counts 0). */
export async function dirBytes(dir: string): Promise<number> {
  let total = 0;
  let entries: Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) total += await dirBytes(p);
    else
      total += await lstat(p).then(
        (s) => s.size,
        () => 0,
      );
  }
  return total;
}

export interface DiskPaths {
  worktreesDir: string;
  homesDir: string;
  /** jobs.sqlite; its -wal beside it counts too. */
  storeFile: string;
}

export class DiskMeter {
  readonly #paths: DiskPaths;
  readonly #now: () => number;
  #last: DiskUse | null = null;
  #lastAt = 0;
  #measuring: Promise<DiskUse> | null = null;

  constructor(paths: DiskPaths, now: () => number = Date.now) {
    this.#paths = paths;
    this.#now = now;
  }

  /** The last measurement (null before the first); starts a new one when it is stale. */
  current(): DiskUse | null {
    if (this.#now() - this.#lastAt >= DISK_MEASURE_EVERY_MS) void this.measure().catch(() => undefined);
    return this.#last;
  }

  measure(): Promise<DiskUse> {
    this.#measuring ??= this.#measure().finally(() => (this.#measuring = null));
    return this.#measuring;
  }

  async #measure(): Promise<DiskUse> {
    this.#lastAt = this.#now();
    const size = (f: string) =>
      lstat(f).then(
        (s) => s.size,
        () => 0,
      );
    const [worktreesBytes, homesBytes, db, wal] = await Promise.all([
      dirBytes(this.#paths.worktreesDir),
      dirBytes(this.#paths.homesDir),
      size(this.#paths.storeFile),
      size(`${this.#paths.storeFile}-wal`),
    ]);
    this.#last = { worktreesBytes, homesBytes, storeBytes: db + wal, measuredAt: new Date(this.#now()).toISOString() };
    return this.#last;
  }
}
