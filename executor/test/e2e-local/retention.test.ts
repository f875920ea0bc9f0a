/**
 * Retention of finished jobs in jobs.sqlite (JOB_RETENTION_DAYS, default 30), checked by reading the
 * store file itself after the executor has started (the purge runs then and at every sweep) and stopped.
 */
import path from "node:path";
import { DatabaseSync } from "node:sqlite";
import type { JobRequest } from "@vault-mcp/contract";
import { afterEach, describe, expect, it } from "vitest";
import { bodyHash } from "../../src/jobs/idempotency.ts";
import { JobStore } from "../../src/jobs/store.ts";
import { type Harness, harness, start } from "../server/harness.ts";

let h: Harness | undefined;
afterEach(() => {
  h?.cleanup();
  h = undefined;
});

const DAY = 86_400_000;
const ago = (days: number) => new Date(Date.now() - days * DAY).toISOString();

/** Jobs as a previous executor left them, `days` after they finished. */
function seed(dataDir: string): void {
  const store = new JobStore(dataDir);
  const add = (id: string, days: number, status: "succeeded" | "failed" | "interrupted", callback = false) => {
    const req: JobRequest = {
      jobKey: `key-${id}`,
      profile: "sonnet",
      prompt: "x",
      repo: "demo",
      ...(callback ? { callbackUrl: "http://127.0.0.1:9/cb" } : {}),
    };
    store.insert(id, req, bodyHash(req), ago(days + 0.01));
    store.finish(id, { status, result: null, finishedAt: ago(days), callbackOwed: callback });
  };
  add("j-old-ok", 45, "succeeded");
  add("j-old-failed", 31, "failed");
  add("j-old-interrupted", 90, "interrupted");
  // Its callback is still owed: it stays until sent, however old.
  add("j-old-owed", 60, "failed", true);
  add("j-recent", 29, "succeeded");
  add("j-yesterday", 1, "failed");
  store.close();
}

function ids(dataDir: string): string[] {
  const db = new DatabaseSync(path.join(dataDir, "jobs.sqlite"), { readOnly: true });
  try {
    return (db.prepare("SELECT id FROM jobs ORDER BY id").all() as { id: string }[]).map((r) => r.id);
  } finally {
    db.close();
  }
}

describe("job store retention", () => {
  it("at start-up, finished jobs older than 30 days are deleted; younger ones and owed callbacks stay", async () => {
    h = harness();
    const data = path.join(h.dir, "data");
    seed(data);
    const { ex } = await start(h, { callback: { baseDelayMs: 60_000 } });
    expect(ex.reconciled).toMatchObject({ jobsPurged: 3 });
    await ex.shutdown();
    expect(ids(data)).toEqual(["j-old-owed", "j-recent", "j-yesterday"]);
  });

  it("JOB_RETENTION_DAYS sets the window", async () => {
    h = harness({ JOB_RETENTION_DAYS: "7" });
    const data = path.join(h.dir, "data");
    seed(data);
    const { ex } = await start(h, { callback: { baseDelayMs: 60_000 } });
    await ex.shutdown();
    expect(ids(data)).toEqual(["j-old-owed", "j-yesterday"]);
  });
});
