/** The executor as a real process, killed with SIGKILL mid-job and started again on the same data. */

import type { ChildProcess } from "node:child_process";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { JobView, SIGNATURE_HEADER, verifyBody } from "@vault-mcp/contract";
import { afterEach, describe, expect, it } from "vitest";
import {
  CALLBACK_SECRET,
  exited,
  type Harness,
  harness,
  job,
  liveProcesses,
  post,
  spawnExecutor,
  until,
  waitJob,
} from "../server/harness.ts";

let h: Harness | undefined;
const children: ChildProcess[] = [];
const servers: Server[] = [];
afterEach(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  for (const s of servers.splice(0)) s.close();
  if (h) for (const pid of liveProcesses(h.dir)) process.kill(pid, "SIGKILL");
  h?.cleanup();
  h = undefined;
});

/** Records signed callbacks; answers 200. */
async function receiver(): Promise<{ url: string; got: { sig: string; body: string }[] }> {
  const got: { sig: string; body: string }[] = [];
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => {
      got.push({ sig: String(req.headers[SIGNATURE_HEADER]), body });
      res.writeHead(200).end();
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/cb`, got };
}

describe("kill -9 and restart", () => {
  it("the running and the queued job read interrupted, nothing stays running, nothing runs twice, callbacks are sent after the restart", async () => {
    h = harness({ MAX_EXECUTORS: "1", LOG_LEVEL: "info" });
    const cb = await receiver();
    const first = await spawnExecutor(h);
    children.push(first.child);
    const running = JobView.parse(
      await (await post(`${first.url}/jobs`, job({ prompt: "hang", callbackUrl: cb.url }))).json(),
    );
    const queued = JobView.parse(
      await (await post(`${first.url}/jobs`, job({ prompt: "write:q.txt", callbackUrl: cb.url }))).json(),
    );
    expect(queued.status).toBe("queued");
    await until(() => h?.spawns().length === 1, 10_000, "the CLI to start");

    first.child.kill("SIGKILL");
    await exited(first.child);
    // The CLI runs in its own process group and outlives a SIGKILL of the executor; in production
    // systemd's KillMode=control-group reaps it. Here the test reaps it the same way.
    for (const pid of liveProcesses(h.dir)) process.kill(pid, "SIGKILL");
    await until(() => liveProcesses(h?.dir as string).length === 0, 5_000, "the orphaned CLI to die");

    const second = await spawnExecutor(h);
    children.push(second.child);
    expect(second.output()).toMatch(/"event":"listening".*"interruptedAtStart":2/);
    for (const id of [running.jobId, queued.jobId]) {
      const view = JobView.parse(await waitJob(second.url, id, 2_000));
      expect(view.status).toBe("interrupted");
      expect(view.finishedAt).not.toBeNull();
    }
    const health = (await (await fetch(`${second.url}/health`)).json()) as { running: number; queued: number };
    expect(health).toMatchObject({ running: 0, queued: 0 });
    // Owed callbacks are delivered by the new process, signed.
    await until(() => cb.got.length === 2, 10_000, "two callbacks");
    for (const { sig, body } of cb.got) {
      expect(await verifyBody(CALLBACK_SECRET, body, sig)).toBe(true);
      expect(JobView.parse(JSON.parse(body)).status).toBe("interrupted");
    }
    expect(new Set(cb.got.map((g) => JobView.parse(JSON.parse(g.body)).jobId))).toEqual(
      new Set([running.jobId, queued.jobId]),
    );
    // Never run again: still the one spawn of the first process.
    await new Promise((r) => setTimeout(r, 300));
    expect(h.spawns()).toHaveLength(1);

    // And the restarted executor takes new work.
    const fresh = JobView.parse(await (await post(`${second.url}/execute`, job())).json());
    expect(fresh.status).toBe("succeeded");
  });

  it("a second executor on the same DATA_DIR refuses to start and leaves the first one's running job alone", async () => {
    h = harness();
    const first = await spawnExecutor(h);
    children.push(first.child);
    const running = JobView.parse(
      await (await post(`${first.url}/jobs`, job({ prompt: "sleep:1500 write:a.txt" }))).json(),
    );
    await until(() => h?.spawns().length === 1, 10_000, "the CLI to start");
    const second = spawnExecutor(h);
    await expect(second).rejects.toThrow(/exited 1: .*"event":"start_failed".*another executor is using/s);
    const view = JobView.parse(await waitJob(first.url, running.jobId, 10_000));
    expect(view.status).toBe("succeeded");
  });
});
