import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { DatabaseSync } from "node:sqlite";
import type { JobRequest, JobResult } from "@vault-mcp/contract";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { admit, bodyHash } from "../../src/jobs/idempotency.ts";
import { JobStore, SCHEMA_VERSION, StoreLockedError, toView } from "../../src/jobs/store.ts";

let dir: string;
let store: JobStore;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), "vault-store-"));
  store = new JobStore(dir);
});
afterEach(() => {
  try {
    store.close();
  } catch {
    // closed by the test
  }
  rmSync(dir, { recursive: true, force: true });
});

const req = (over: Partial<JobRequest> = {}): JobRequest => ({
  jobKey: "t-1:1",
  profile: "sonnet",
  prompt: "do it",
  repo: "demo",
  ...over,
});
const NOW = "2026-01-01T00:00:00.000Z";
let n = 0;
const opts = (gate: () => "draining" | "queue_full" | null = () => null) => ({
  newId: () => `j-${++n}`,
  now: () => new Date(NOW),
  gate,
});

const result: JobResult = {
  ok: true,
  profile: "sonnet",
  run: {
    ok: true,
    cli: "claude",
    text: "done",
    exitCode: 0,
    signal: null,
    durationMs: 5,
    costUsd: 0.01,
    costSource: "reported",
    tokens: { input: 1, output: 2, cacheRead: 0, cacheWrite: 0 },
    model: "sonnet",
    sessionId: null,
    truncated: false,
  },
  files: [{ path: "a.txt", added: 1, deleted: 0 }],
  branch: "vault/j-1",
  commit: null,
  compressed: "flowchart LR",
  costUsd: 0.01,
};

describe("idempotency", () => {
  it("same key + same body → the same job; another body → conflict; only a new key is gated", () => {
    const a = admit(store, req(), opts());
    expect(a.kind).toBe("created");
    const id = a.kind === "created" ? a.jobId : "";
    expect(
      admit(
        store,
        req(),
        opts(() => "queue_full"),
      ),
    ).toEqual({ kind: "existing", jobId: id });
    expect(admit(store, req({ prompt: "other" }), opts())).toEqual({ kind: "conflict", jobId: id });
    expect(
      admit(
        store,
        req({ jobKey: "t-2:1" }),
        opts(() => "queue_full"),
      ),
    ).toEqual({ kind: "refused", reason: "queue_full" });
    expect(store.byKey("t-2:1")).toBeNull();
  });

  it("the body hash ignores key order and absent optional fields, and sees every value", () => {
    const base = req({ verify: ["npm", "test"], timeoutMs: 5000 });
    const reordered = Object.fromEntries(Object.entries(base).reverse()) as JobRequest;
    expect(bodyHash(reordered)).toBe(bodyHash(base));
    expect(bodyHash({ ...base, ref: undefined })).toBe(bodyHash(base));
    expect(bodyHash({ ...base, verify: ["test", "npm"] })).not.toBe(bodyHash(base));
    expect(bodyHash({ ...base, timeoutMs: 5001 })).not.toBe(bodyHash(base));
  });

  it("the UNIQUE job_key is the backstop: a second insert with the key throws", () => {
    store.insert("j-a", req(), bodyHash(req()), NOW);
    expect(() => store.insert("j-b", req(), bodyHash(req()), NOW)).toThrow();
  });
});

describe("JobStore", () => {
  it("keeps jobs, results and callback state across a reopen", () => {
    store.insert("j-1", req({ callbackUrl: "http://127.0.0.1:1/cb" }), bodyHash(req()), NOW);
    store.markRunning("j-1", NOW);
    store.finish("j-1", { status: "succeeded", result, finishedAt: NOW, callbackOwed: true });
    store.close();
    store = new JobStore(dir);
    const rec = store.get("j-1");
    expect(rec).toMatchObject({
      status: "succeeded",
      callbackState: "pending",
      result,
      startedAt: NOW,
      finishedAt: NOW,
    });
    expect(toView(rec!)).toEqual({
      jobId: "j-1",
      jobKey: "t-1:1",
      status: "succeeded",
      createdAt: NOW,
      startedAt: NOW,
      finishedAt: NOW,
      result,
    });
    expect(store.pendingCallbacks().map((r) => r.id)).toEqual(["j-1"]);
    store.callbackAttempted("j-1", 2);
    store.callbackDone("j-1", "sent", 1);
    expect(store.get("j-1")).toMatchObject({ callbackState: "sent", callbackAttempts: 3 });
    expect(store.pendingCallbacks()).toEqual([]);
  });

  it("recover(): a job whose run had started reads interrupted with its callback owed; one that never started is queued again; finished jobs are untouched", () => {
    const cb = "http://127.0.0.1:1/cb";
    store.insert("j-run", req({ jobKey: "a", callbackUrl: cb }), "h", NOW);
    store.markRunning("j-run", NOW);
    store.recordProcess({ jobId: "j-run", run: "j-run", pgid: 4242, startTicks: 7, bootId: "b" });
    store.insert("j-home", req({ jobKey: "d" }), "h", NOW);
    store.markRunning("j-home", NOW);
    // Marked running, but no CLI spawned yet (its worktree was being made): it never started.
    store.insert("j-picked", req({ jobKey: "e", callbackUrl: cb }), "h", "2026-01-01T00:00:01.000Z");
    store.markRunning("j-picked", NOW);
    store.insert("j-queued", req({ jobKey: "b", callbackUrl: cb }), "h", "2026-01-01T00:00:02.000Z");
    store.insert("j-done", req({ jobKey: "c" }), "h", NOW);
    store.finish("j-done", { status: "failed", result: null, finishedAt: NOW, callbackOwed: false });
    store.close();
    store = new JobStore(dir);
    const later = "2026-01-02T00:00:00.000Z";
    // j-home has a per-run home on disk (an older executor recorded no processes).
    const r = store.recover(later, new Set(["j-home"]));
    expect(r.interrupted.sort()).toEqual(["j-home", "j-run"]);
    expect(r.requeued).toEqual(["j-picked", "j-queued"]);
    expect(store.get("j-run")).toMatchObject({ status: "interrupted", callbackState: "pending", finishedAt: later });
    expect(store.get("j-home")).toMatchObject({ status: "interrupted", callbackState: "none" });
    for (const id of ["j-picked", "j-queued"])
      expect(store.get(id)).toMatchObject({
        status: "queued",
        startedAt: null,
        finishedAt: null,
        callbackState: "none",
      });
    expect(store.get("j-done")).toMatchObject({ status: "failed", finishedAt: NOW });
    expect(store.counts()).toEqual({ queued: 2, running: 0, succeeded: 0, failed: 1, interrupted: 2 });
    expect(store.processes()).toEqual([{ jobId: "j-run", run: "j-run", pgid: 4242, startTicks: 7, bootId: "b" }]);
    store.clearProcesses(["j-run"]);
    expect(store.processes()).toEqual([]);
    expect(store.recover(NOW)).toEqual({ interrupted: [], requeued: ["j-picked", "j-queued"] });
  });

  it("a job's processes are forgotten when it ends; requeue() refuses a job that started one", () => {
    store.insert("j-1", req(), "h", NOW);
    store.markRunning("j-1", NOW);
    store.recordProcess({ jobId: "j-1", run: "j-1", pgid: 1, startTicks: 1, bootId: "b" });
    expect(store.hasProcesses("j-1")).toBe(true);
    expect(store.requeue("j-1")).toBe(false);
    store.finish("j-1", { status: "succeeded", result, finishedAt: NOW, callbackOwed: false });
    expect(store.hasProcesses("j-1")).toBe(false);
    expect(store.requeue("j-1")).toBe(false);
  });

  it("a callback an older executor gave up on (failed) is owed again once the store opens", () => {
    store.insert("j-1", req({ callbackUrl: "http://127.0.0.1:1/cb" }), "h", NOW);
    store.finish("j-1", { status: "succeeded", result, finishedAt: NOW, callbackOwed: true });
    store.close();
    const db = new DatabaseSync(path.join(dir, "jobs.sqlite"));
    db.prepare("UPDATE jobs SET callback_state = 'failed'").run();
    db.close();
    store = new JobStore(dir);
    expect(store.pendingCallbacks().map((r) => r.id)).toEqual(["j-1"]);
  });

  it("interrupt() never rewrites a finished job", () => {
    store.insert("j-1", req(), "h", NOW);
    store.finish("j-1", { status: "succeeded", result, finishedAt: NOW, callbackOwed: false });
    store.interrupt("j-1", "2026-02-02T00:00:00.000Z");
    expect(store.get("j-1")).toMatchObject({ status: "succeeded", finishedAt: NOW });
  });

  it("one executor per store: a second one on the same DATA_DIR is refused while the first holds it", () => {
    expect(() => new JobStore(dir)).toThrow(StoreLockedError);
    expect(() => new JobStore(dir)).toThrow(/another executor is using .*jobs\.sqlite/);
    store.close();
    store = new JobStore(dir);
    expect(store.counts().queued).toBe(0);
  });

  it("records its schema version, uses WAL, and refuses a store of another version", () => {
    store.close();
    const db = new DatabaseSync(path.join(dir, "jobs.sqlite"));
    expect(db.prepare("SELECT version FROM schema_version").all()).toEqual([{ version: SCHEMA_VERSION }]);
    expect(db.prepare("PRAGMA journal_mode").get()).toEqual({ journal_mode: "wal" });
    db.prepare("UPDATE schema_version SET version = ?").run(SCHEMA_VERSION + 1);
    db.close();
    expect(() => new JobStore(dir)).toThrow(/STORAGE\.md/);
    const fix = new DatabaseSync(path.join(dir, "jobs.sqlite"));
    fix.prepare("UPDATE schema_version SET version = ?").run(SCHEMA_VERSION);
    fix.close();
    store = new JobStore(dir);
  });
});
