/**
 * Job records and results in SQLite (node:sqlite, WAL), so they survive a restart. Format:
 * executor/STORAGE.md. All calls are synchronous: a lookup and the insert that follows it cannot
 * interleave with another request, which is what makes jobKey idempotency exact.
 */
import { chmodSync, existsSync, mkdirSync } from "node:fs";
import path from "node:path";
import { DatabaseSync } from "node:sqlite";
import { JobRequest, JobResult, type JobStatus, type JobView } from "@vault-mcp/contract";

export const SCHEMA_VERSION = 1;
/** The store's file name in DATA_DIR. */
export const STORE_FILE = "jobs.sqlite";

export class StoreLockedError extends Error {
  override readonly name = "StoreLockedError";
}

/**
 * `pending`: owed, sent until acknowledged. `sent`: the Worker acknowledged it (2xx). `unwanted`: the
 * Worker said the task no longer wants it (CALLBACK_UNWANTED_STATUSES). A store written before
 * deliveries were kept until acknowledged may hold `failed` (given up after six tries): it is owed
 * again, and turned back into `pending` when the store opens.
 */
export type CallbackState = "none" | "pending" | "sent" | "unwanted";

export interface JobRecord {
  id: string;
  jobKey: string;
  bodyHash: string;
  request: JobRequest;
  status: JobStatus;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  result: JobResult | null;
  callbackState: CallbackState;
  callbackAttempts: number;
}

/**
 * A CLI (or verify) process a job started, recorded when it is spawned and kept until the job ends:
 * at the next start it says the job's run had begun (it was `interrupted`, not never started) and
 * which process was its own, so one left running by a killed executor is found and killed, and a
 * pid the kernel has since given to another process never is (process/orphans.ts).
 */
export interface ProcessRecord {
  jobId: string;
  /** The run's name: the job id, plus `-a`/`-b` for a consensus side (its home and worktree name). */
  run: string;
  /** The process's pid, which is also its process group id (spawned detached). */
  pgid: number;
  /** Its start time, in clock ticks after boot (/proc/<pid>/stat field 22); -1 if /proc had none. */
  startTicks: number;
  /** /proc/sys/kernel/random/boot_id at spawn: start times mean nothing across a reboot. */
  bootId: string;
}

/** What start-up recovery did with the jobs a dead process left unfinished (JobStore.recover). */
export interface Recovered {
  /** Their run had started (a CLI was spawned, or its home made): now `interrupted`, callback owed. */
  interrupted: string[];
  /** They never started a CLI: `queued` again, same id and key, to run after the restart (oldest first). */
  requeued: string[];
}

/** How a job ended (JobStore.finish). */
export interface JobEnd {
  status: JobStatus;
  result: JobResult | null;
  finishedAt: string;
  /** The request has a callbackUrl: the callback is owed (`pending`). */
  callbackOwed: boolean;
}

interface Row {
  id: string;
  job_key: string;
  body_hash: string;
  request: string;
  status: JobStatus;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  result: string | null;
  callback_state: CallbackState;
  callback_attempts: number;
}

export function toView(r: JobRecord): JobView {
  return {
    jobId: r.id,
    jobKey: r.jobKey,
    status: r.status,
    createdAt: r.createdAt,
    startedAt: r.startedAt,
    finishedAt: r.finishedAt,
    result: r.result,
  };
}

export class JobStore {
  private readonly db: DatabaseSync;

  constructor(dataDir: string) {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    const file = path.join(dataDir, STORE_FILE);
    this.db = new DatabaseSync(file);
    // Owner only, whatever the umask: DATA_DIR is searchable by the agent identities (sandbox/).
    // SQLite gives the WAL the database's mode when it makes it; one left by an older start is fixed.
    for (const f of [file, `${file}-wal`]) if (existsSync(f)) chmodSync(f, 0o600);
    try {
      // EXCLUSIVE locking: this process holds the file's lock until it exits (the kernel drops it on
      // kill -9), so a second executor on the same DATA_DIR fails here instead of "recovering"
      // (interrupting) the first one's running jobs. It also keeps WAL's index in memory: no -shm.
      this.db.exec(
        "PRAGMA busy_timeout = 1000; PRAGMA locking_mode = EXCLUSIVE; PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; BEGIN IMMEDIATE; COMMIT;",
      );
    } catch (err) {
      this.db.close();
      if (err instanceof Error && /locked|busy/i.test(err.message))
        throw new StoreLockedError(`another executor is using ${file}; each executor needs its own DATA_DIR`);
      throw err;
    }
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS jobs (
        id TEXT PRIMARY KEY,
        job_key TEXT NOT NULL UNIQUE,
        body_hash TEXT NOT NULL,
        request TEXT NOT NULL,
        status TEXT NOT NULL,
        created_at TEXT NOT NULL,
        started_at TEXT,
        finished_at TEXT,
        result TEXT,
        callback_state TEXT NOT NULL DEFAULT 'none',
        callback_attempts INTEGER NOT NULL DEFAULT 0
      );
      CREATE INDEX IF NOT EXISTS jobs_status ON jobs (status);
      CREATE INDEX IF NOT EXISTS jobs_finished_at ON jobs (finished_at);
      CREATE TABLE IF NOT EXISTS job_processes (
        job_id TEXT NOT NULL,
        run TEXT NOT NULL,
        pgid INTEGER NOT NULL,
        start_ticks INTEGER NOT NULL,
        boot_id TEXT NOT NULL,
        PRIMARY KEY (job_id, pgid)
      );`);
    const v = this.db.prepare("SELECT version FROM schema_version").get() as { version: number } | undefined;
    if (!v) this.db.prepare("INSERT INTO schema_version (version) VALUES (?)").run(SCHEMA_VERSION);
    else if (v.version !== SCHEMA_VERSION) {
      this.db.close();
      throw new Error(
        `job store ${file} has schema version ${v.version}, this executor reads ${SCHEMA_VERSION}; see executor/STORAGE.md`,
      );
    }
    // A callback an older executor gave up on was never acknowledged: it is owed again.
    this.db.prepare("UPDATE jobs SET callback_state = 'pending' WHERE callback_state = 'failed'").run();
  }

  private fromRow(row: Row): JobRecord {
    return {
      id: row.id,
      jobKey: row.job_key,
      bodyHash: row.body_hash,
      request: JobRequest.parse(JSON.parse(row.request)),
      status: row.status,
      createdAt: row.created_at,
      startedAt: row.started_at,
      finishedAt: row.finished_at,
      result: row.result ? JobResult.parse(JSON.parse(row.result)) : null,
      callbackState: row.callback_state,
      callbackAttempts: row.callback_attempts,
    };
  }

  get(id: string): JobRecord | null {
    const row = this.db.prepare("SELECT * FROM jobs WHERE id = ?").get(id) as Row | undefined;
    return row ? this.fromRow(row) : null;
  }

  byKey(jobKey: string): JobRecord | null {
    const row = this.db.prepare("SELECT * FROM jobs WHERE job_key = ?").get(jobKey) as Row | undefined;
    return row ? this.fromRow(row) : null;
  }

  insert(id: string, req: JobRequest, hash: string, now: string): JobRecord {
    this.db
      .prepare(
        "INSERT INTO jobs (id, job_key, body_hash, request, status, created_at) VALUES (?, ?, ?, ?, 'queued', ?)",
      )
      .run(id, req.jobKey, hash, JSON.stringify(req), now);
    return this.get(id) as JobRecord;
  }

  markRunning(id: string, now: string): void {
    this.db.prepare("UPDATE jobs SET status = 'running', started_at = ? WHERE id = ?").run(now, id);
  }

  /** A process the job's run spawned (see ProcessRecord); a pid recorded twice is its latest spawn. */
  recordProcess(p: ProcessRecord): void {
    this.db
      .prepare("INSERT OR REPLACE INTO job_processes (job_id, run, pgid, start_ticks, boot_id) VALUES (?, ?, ?, ?, ?)")
      .run(p.jobId, p.run, p.pgid, p.startTicks, p.bootId);
  }

  /** Every process recorded for jobs not yet finished (all of them, at start-up: a dead process's). */
  processes(): ProcessRecord[] {
    return (
      this.db.prepare("SELECT * FROM job_processes ORDER BY job_id").all() as {
        job_id: string;
        run: string;
        pgid: number;
        start_ticks: number;
        boot_id: string;
      }[]
    ).map((r) => ({ jobId: r.job_id, run: r.run, pgid: r.pgid, startTicks: r.start_ticks, bootId: r.boot_id }));
  }

  /** Whether the job's run spawned a process (a CLI) in this or an earlier life of the executor. */
  hasProcesses(jobId: string): boolean {
    return this.db.prepare("SELECT 1 FROM job_processes WHERE job_id = ? LIMIT 1").get(jobId) !== undefined;
  }

  /** Forgets the processes of jobs that are over (recovery, once what they left is dealt with). */
  clearProcesses(jobIds: readonly string[]): void {
    const del = this.db.prepare("DELETE FROM job_processes WHERE job_id = ?");
    for (const id of jobIds) del.run(id);
  }

  finish(id: string, end: JobEnd): void {
    this.db
      .prepare("UPDATE jobs SET status = ?, result = ?, finished_at = ?, callback_state = ? WHERE id = ?")
      .run(
        end.status,
        end.result ? JSON.stringify(end.result) : null,
        end.finishedAt,
        end.callbackOwed ? "pending" : "none",
        id,
      );
    // Its processes are gone (runProcess settles only once a whole group is): nothing to find later.
    this.clearProcesses([id]);
  }

  /**
   * A job whose run was stopped (shutdown) before any CLI started: `queued` again, as if never
   * picked, so the next start runs it. Only a job that started nothing (no process recorded).
   */
  requeue(id: string): boolean {
    const r = this.db
      .prepare(
        "UPDATE jobs SET status = 'queued', started_at = NULL WHERE id = ? AND status IN ('queued', 'running') AND NOT EXISTS (SELECT 1 FROM job_processes WHERE job_id = jobs.id)",
      )
      .run(id);
    return Number(r.changes) === 1;
  }

  /** `attempts` are added to those made before (across restarts). */
  callbackDone(id: string, state: "sent" | "unwanted", attempts: number): void {
    this.db
      .prepare("UPDATE jobs SET callback_state = ?, callback_attempts = callback_attempts + ? WHERE id = ?")
      .run(state, attempts, id);
  }

  /** Attempts made by a delivery that was stopped (shutdown): the callback stays `pending`. */
  callbackAttempted(id: string, attempts: number): void {
    this.db.prepare("UPDATE jobs SET callback_attempts = callback_attempts + ? WHERE id = ?").run(attempts, id);
  }

  /**
   * At start-up, before anything runs: a job still `running` or `queued` belongs to a process that
   * is gone. One whose run had started (a process recorded, or a home in `started` (the per-run
   * homes left on disk: runs of executors that recorded no processes)) reads `interrupted`, is never
   * run again (the caller decides whether to retry, with a new jobKey), and its callback is owed.
   * One that never started a CLI is `queued` again, with the same id and key, and runs after the
   * restart: nothing of it ran, so nothing of it is lost or counted.
   */
  recover(now: string, started: ReadonlySet<string> = new Set()): Recovered {
    const rows = this.db
      .prepare("SELECT id FROM jobs WHERE status IN ('running', 'queued') ORDER BY created_at, id")
      .all() as { id: string }[];
    const out: Recovered = { interrupted: [], requeued: [] };
    for (const { id } of rows) {
      if (started.has(id) || this.hasProcesses(id)) {
        this.interrupt(id, now);
        out.interrupted.push(id);
      } else {
        this.requeue(id);
        out.requeued.push(id);
      }
    }
    return out;
  }

  /** Ends a job that will not run on: `interrupted`, callback owed when it has a callbackUrl. */
  interrupt(id: string, now: string): void {
    this.db
      .prepare(
        "UPDATE jobs SET status = 'interrupted', finished_at = ?, callback_state = CASE WHEN json_extract(request, '$.callbackUrl') IS NULL THEN 'none' ELSE 'pending' END WHERE id = ? AND status IN ('running', 'queued')",
      )
      .run(now, id);
  }

  /**
   * The usage a job interrupted by a restart had already spent, read from its CLI's session log after
   * the restart: only for a job that ended `interrupted` without a result.
   */
  setInterruptedResult(id: string, result: JobResult): void {
    this.db
      .prepare("UPDATE jobs SET result = ? WHERE id = ? AND status = 'interrupted' AND result IS NULL")
      .run(JSON.stringify(result), id);
  }

  /**
   * Retention: deletes finished jobs that ended before `before` (ISO time), except those whose
   * callback is still owed. Returns how many went. Their pages are reused by new jobs, so the file
   * stays about the size of the retention window.
   */
  purgeFinished(before: string): number {
    const r = this.db
      .prepare(
        "DELETE FROM jobs WHERE status IN ('succeeded', 'failed', 'interrupted') AND finished_at IS NOT NULL AND finished_at < ? AND callback_state <> 'pending'",
      )
      .run(before);
    return Number(r.changes);
  }

  pendingCallbacks(): JobRecord[] {
    return (this.db.prepare("SELECT * FROM jobs WHERE callback_state = 'pending'").all() as unknown as Row[]).map((r) =>
      this.fromRow(r),
    );
  }

  counts(): Record<JobStatus, number> {
    const out: Record<string, number> = { queued: 0, running: 0, succeeded: 0, failed: 0, interrupted: 0 };
    for (const r of this.db.prepare("SELECT status, count(*) AS n FROM jobs GROUP BY status").all() as {
      status: string;
      n: number;
    }[])
      out[r.status] = r.n;
    return out as Record<JobStatus, number>;
  }

  close(): void {
    this.db.close();
  }
}
