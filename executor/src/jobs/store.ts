/**
 * Job records and results in SQLite (node:sqlite, WAL), so they survive a restart. Format:
 * executor/STORAGE.md. All calls are synchronous: a lookup and the insert that follows it cannot
 * interleave with another request, which is what makes jobKey idempotency exact.
 */
import { createHash } from "node:crypto";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { DatabaseSync } from "node:sqlite";
import { JobRequest, JobResult, type JobStatus, type JobView } from "@vault-mcp/contract";

export const SCHEMA_VERSION = 1;

export type CallbackState = "none" | "pending" | "sent" | "failed";

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

/** Canonical JSON (sorted keys) so the same body always hashes the same. */
export function bodyHash(req: JobRequest): string {
  const canon = (v: unknown): unknown =>
    Array.isArray(v) ? v.map(canon) : v && typeof v === "object" ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b)).map(([k, x]) => [k, canon(x)])) : v;
  return createHash("sha256").update(JSON.stringify(canon(req))).digest("hex");
}

export function toView(r: JobRecord): JobView {
  return { jobId: r.id, jobKey: r.jobKey, status: r.status, createdAt: r.createdAt, startedAt: r.startedAt, finishedAt: r.finishedAt, result: r.result };
}

export class JobStore {
  private readonly db: DatabaseSync;

  constructor(dataDir: string) {
    mkdirSync(dataDir, { recursive: true });
    this.db = new DatabaseSync(path.join(dataDir, "jobs.sqlite"));
    this.db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000;");
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
      CREATE INDEX IF NOT EXISTS jobs_status ON jobs (status);`);
    const v = this.db.prepare("SELECT version FROM schema_version").get() as { version: number } | undefined;
    if (!v) this.db.prepare("INSERT INTO schema_version (version) VALUES (?)").run(SCHEMA_VERSION);
    else if (v.version !== SCHEMA_VERSION) throw new Error(`job store schema ${v.version} is not ${SCHEMA_VERSION}; see executor/STORAGE.md`);
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
      .prepare("INSERT INTO jobs (id, job_key, body_hash, request, status, created_at) VALUES (?, ?, ?, ?, 'queued', ?)")
      .run(id, req.jobKey, hash, JSON.stringify(req), now);
    return this.get(id) as JobRecord;
  }

  markRunning(id: string, now: string): void {
    this.db.prepare("UPDATE jobs SET status = 'running', started_at = ? WHERE id = ?").run(now, id);
  }

  finish(id: string, status: JobStatus, result: JobResult | null, now: string, callbackPending: boolean): void {
    this.db
      .prepare("UPDATE jobs SET status = ?, result = ?, finished_at = ?, callback_state = ? WHERE id = ?")
      .run(status, result ? JSON.stringify(result) : null, now, callbackPending ? "pending" : "none", id);
  }

  callbackDone(id: string, state: "sent" | "failed", attempts: number): void {
    this.db.prepare("UPDATE jobs SET callback_state = ?, callback_attempts = ? WHERE id = ?").run(state, attempts, id);
  }

  /**
   * After a crash: a job that was running reads `interrupted` (its CLI died with the process; it
   * is never run again) and its callback is owed; queued jobs never started, so they run now.
   */
  recover(now: string): { interrupted: string[]; requeued: string[] } {
    const running = (this.db.prepare("SELECT id, request FROM jobs WHERE status = 'running'").all() as { id: string; request: string }[]).map((r) => r.id);
    for (const id of running) {
      const rec = this.get(id);
      this.finish(id, "interrupted", null, now, Boolean(rec?.request.callbackUrl));
    }
    const requeued = (this.db.prepare("SELECT id FROM jobs WHERE status = 'queued' ORDER BY created_at").all() as { id: string }[]).map((r) => r.id);
    return { interrupted: running, requeued };
  }

  pendingCallbacks(): JobRecord[] {
    return (this.db.prepare("SELECT * FROM jobs WHERE callback_state = 'pending'").all() as unknown as Row[]).map((r) => this.fromRow(r));
  }

  counts(): Record<JobStatus, number> {
    const out: Record<string, number> = { queued: 0, running: 0, succeeded: 0, failed: 0, interrupted: 0 };
    for (const r of this.db.prepare("SELECT status, count(*) AS n FROM jobs GROUP BY status").all() as { status: string; n: number }[]) out[r.status] = r.n;
    return out as Record<JobStatus, number>;
  }

  close(): void {
    this.db.close();
  }
}
