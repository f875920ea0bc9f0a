/**
 * Disk use for GET /health: the worktrees, the per-run CLI homes and the job store. Walking a
 * worktree of a large repo takes a while, so /health never waits for it: it reports the last
 * measurement and starts a new one when that is older than a minute.
 */
import type { Dirent } from "node:fs";
import { lstat, readdir } from "node:fs/promises";
import path from "node:path";
import type { DiskUse } from "@vault-mcp/contract";
import { isMissing } from "./fs-missing.ts";
import { log } from "./log.ts";

const DISK_MEASURE_EVERY_MS = 60_000;

/**
 * "Not there" (removed mid-walk: a run's home, a released tree) and "not ours to read" (EACCES: an
 * agent made a directory of its run private; its cleanup gives it back) count 0, on purpose. Any
 * other error (EIO…) fails the measurement, which is logged (disk_measure_failed).
 */
const uncounted = (err: unknown) => isMissing(err) || (err as NodeJS.ErrnoException | null)?.code === "EACCES";

/** Bytes of the files under `dir` (symlinks not followed). */
async function dirBytes(dir: string): Promise<number> {
  let total = 0;
  let entries: Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    if (uncounted(err)) return 0;
    throw err;
  }
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) total += await dirBytes(p);
    else total += await sizeOf(p);
  }
  return total;
}

async function sizeOf(file: string): Promise<number> {
  try {
    return (await lstat(file)).size;
  } catch (err) {
    if (uncounted(err)) return 0;
    throw err;
  }
}

export interface DiskPaths {
  worktreesDir: string;
  homesDir: string;
  /** jobs.sqlite; its -wal beside it counts too. */
  storeFile: string;
}

/** Nobody awaits a background measurement: its failure ends here, in the log; /health keeps the last one. */
export function logMeasureFailed(err: unknown): void {
  log("warn", "disk_measure_failed", { error: err instanceof Error ? err.message : String(err) });
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
    if (this.#now() - this.#lastAt >= DISK_MEASURE_EVERY_MS) void this.measure().catch(logMeasureFailed);
    return this.#last;
  }

  measure(): Promise<DiskUse> {
    this.#measuring ??= this.#measure().finally(() => (this.#measuring = null));
    return this.#measuring;
  }

  async #measure(): Promise<DiskUse> {
    this.#lastAt = this.#now();
    const [worktreesBytes, homesBytes, db, wal] = await Promise.all([
      dirBytes(this.#paths.worktreesDir),
      dirBytes(this.#paths.homesDir),
      sizeOf(this.#paths.storeFile),
      sizeOf(`${this.#paths.storeFile}-wal`),
    ]);
    this.#last = { worktreesBytes, homesBytes, storeBytes: db + wal, measuredAt: new Date(this.#now()).toISOString() };
    return this.#last;
  }
}
