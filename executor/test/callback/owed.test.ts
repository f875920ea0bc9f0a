/**
 * Owed callbacks are kept until delivered: a finished job's callback to a Worker that is down for
 * longer than the six tries an executor used to make arrives once it is up, also when the executor
 * restarted meanwhile, and also when an older executor had given it up (`failed` in the store).
 * The executor runs in-process on its real store; the Worker is a real HTTP receiver that is not
 * listening at first, then listens on the callback's port.
 */
import type { Server } from "node:http";
import path from "node:path";
import { DatabaseSync } from "node:sqlite";
import { JobView, verifyBody } from "@vault-mcp/contract";
import { afterEach, describe, expect, it } from "vitest";
import type { Executor } from "../../src/executor.ts";
import { CALLBACK_SECRET, type Harness, harness, job, post, start, until, waitJob } from "../server/harness.ts";
import { callbackReceiver } from "./receiver.ts";

let h: Harness | undefined;
const executors: Executor[] = [];
const servers: Server[] = [];
afterEach(async () => {
  for (const ex of executors.splice(0)) await ex.shutdown().catch(() => undefined);
  for (const s of servers.splice(0)) s.close();
  h?.cleanup();
  h = undefined;
});

/** A port nothing listens on now, and the fetch tries made to it. */
async function downWorker(): Promise<{ url: string; port: number; tries: () => number; fetch: typeof fetch }> {
  const probe = await callbackReceiver();
  await new Promise<void>((r) => probe.server.close(() => r()));
  let tries = 0;
  return {
    url: probe.url,
    port: Number(new URL(probe.url).port),
    tries: () => tries,
    fetch: (input, init) => {
      tries += 1;
      return fetch(input, init);
    },
  };
}

async function comeUp(port: number) {
  const r = await callbackReceiver([202], port);
  servers.push(r.server);
  return r;
}

describe("owed callbacks are kept until delivered", () => {
  it("a Worker down for more than six tries gets the callback once it is up", async () => {
    h = harness();
    const worker = await downWorker();
    const { ex, url } = await start(h, { callback: { baseDelayMs: 10, maxDelayMs: 50, fetch: worker.fetch } });
    executors.push(ex);
    const { jobId } = JobView.parse(await (await post(`${url}/jobs`, job({ callbackUrl: worker.url }))).json());
    expect((await waitJob(url, jobId)).status).toBe("succeeded");
    await until(() => worker.tries() >= 10, 10_000, "ten refused tries");
    expect(ex.store.get(jobId)?.callbackState).toBe("pending");
    const up = await comeUp(worker.port);
    await until(() => ex.store.get(jobId)?.callbackState === "sent", 10_000, "the callback acknowledged");
    expect(up.got).toHaveLength(1);
    expect(await verifyBody(CALLBACK_SECRET, up.got[0]?.body ?? "", up.got[0]?.sig ?? null)).toBe(true);
    expect(JobView.parse(JSON.parse(up.got[0]?.body ?? "")).status).toBe("succeeded");
  });

  it("across a restart, and also one an older executor had marked failed: the next start sends it", async () => {
    h = harness();
    const worker = await downWorker();
    const callback = { baseDelayMs: 10, maxDelayMs: 50, fetch: worker.fetch };
    const first = await start(h, { callback });
    const { jobId } = JobView.parse(await (await post(`${first.url}/jobs`, job({ callbackUrl: worker.url }))).json());
    expect((await waitJob(first.url, jobId)).status).toBe("succeeded");
    await until(() => worker.tries() >= 7, 10_000, "seven refused tries");
    await first.ex.shutdown();
    // What an executor that gave up after six tries left in the store.
    const db = new DatabaseSync(path.join(h.dir, "data", "jobs.sqlite"));
    db.prepare("UPDATE jobs SET callback_state = 'failed' WHERE id = ?").run(jobId);
    db.close();

    const second = await start(h, { callback });
    executors.push(second.ex);
    const before = worker.tries();
    await until(() => worker.tries() >= before + 3, 10_000, "the restarted executor's tries");
    const up = await comeUp(worker.port);
    await until(() => second.ex.store.get(jobId)?.callbackState === "sent", 10_000, "the callback acknowledged");
    expect(up.got.map((g) => JobView.parse(JSON.parse(g.body)).jobId)).toEqual([jobId]);
  });

  it("a Worker that says the task no longer wants it (410) ends the delivery, unacknowledged", async () => {
    h = harness();
    const gone = await callbackReceiver([410]);
    servers.push(gone.server);
    const { ex, url } = await start(h);
    executors.push(ex);
    const { jobId } = JobView.parse(await (await post(`${url}/jobs`, job({ callbackUrl: gone.url }))).json());
    await waitJob(url, jobId);
    await until(() => ex.store.get(jobId)?.callbackState === "unwanted", 10_000, "the delivery to end");
    expect(gone.got).toHaveLength(1);
  });
});
