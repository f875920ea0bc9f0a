/**
 * Joining a pool: the executor (in-process, real HTTP) heartbeats to a stand-in Worker that checks
 * the signature as the real one does; the body says who it is and what it runs; the answer drains
 * it (a new job key gets 503 `drained`, a known one is still answered) and resumes it; a stopping
 * executor says so at once.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Heartbeat, SIGNATURE_HEADER, verifyBody } from "@vault-mcp/contract";
import { afterEach, describe, expect, it } from "vitest";
import { idFromHostname, loadConfig } from "../../src/config.ts";
import { CALLBACK_SECRET, harness, SECRET, start } from "../server/harness.ts";

interface Received {
  body: Heartbeat;
  signed: boolean;
}

/** A Worker's heartbeat route in miniature: verifies, records, answers `drain` as told. */
async function standInWorker(): Promise<{ url: string; got: Received[]; drain: { on: boolean }; server: Server }> {
  const got: Received[] = [];
  const drain = { on: false };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const text = Buffer.concat(chunks).toString("utf8");
      void verifyBody(CALLBACK_SECRET, text, String(req.headers[SIGNATURE_HEADER] ?? "")).then((signed) => {
        got.push({ body: Heartbeat.parse(JSON.parse(text)), signed });
        res.writeHead(signed ? 200 : 401, { "content-type": "application/json" });
        res.end(JSON.stringify({ drain: drain.on, leaseMs: 15_000 }));
      });
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, got, drain, server };
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function until<T>(what: string, f: () => T | undefined | null | false, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = f();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const post = (url: string, body: unknown) =>
  fetch(`${url}/jobs`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-auth-token": SECRET },
    body: JSON.stringify(body),
  });

describe("joining a pool (POOL_URL)", () => {
  it("heartbeats signed, with its id, URL, slots, running jobs, repos and readiness, each later than the last", async () => {
    const worker = await standInWorker();
    cleanups.push(() => new Promise<void>((r) => worker.server.close(() => r())));
    const h = harness({ POOL_URL: worker.url, EXECUTOR_ID: "vm-7", HEARTBEAT_MS: "200", MAX_EXECUTORS: "3" });
    cleanups.push(h.cleanup);
    const { ex, url } = await start(h);
    cleanups.push(() => ex.shutdown());
    const job = (await (
      await post(url, { jobKey: "k-1", profile: "sonnet", prompt: "sleep:1500", repo: "demo" })
    ).json()) as {
      jobId: string;
    };
    await until("a heartbeat listing the running job", () =>
      worker.got.find((g) => g.body.running.includes(job.jobId)),
    );
    const last = worker.got.at(-1) as Received;
    expect(last.signed).toBe(true);
    expect(last.body).toMatchObject({
      id: "vm-7",
      url,
      capacity: 3,
      repos: ["demo"],
      draining: false,
      readiness: { profiles: { sonnet: { ready: true } }, direct: { claude: "sonnet" } },
    });
    const times = worker.got.map((g) => g.body.sentAt);
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(new Set(times).size).toBe(times.length);
  });

  it("a drain in the answer refuses new job keys (503 drained) but answers a known one; a resume takes jobs again", async () => {
    const worker = await standInWorker();
    cleanups.push(() => new Promise<void>((r) => worker.server.close(() => r())));
    const h = harness({ POOL_URL: worker.url, HEARTBEAT_MS: "200" });
    cleanups.push(h.cleanup);
    const { ex, url } = await start(h);
    cleanups.push(() => ex.shutdown());
    const first = { jobKey: "k-1", profile: "sonnet", prompt: "sleep:300", repo: "demo" };
    const accepted = (await (await post(url, first)).json()) as { jobId: string };
    worker.drain.on = true;
    const seen = worker.got.length;
    await until("two heartbeats after the drain", () => worker.got.length >= seen + 2);
    const refused = await post(url, { ...first, jobKey: "k-2" });
    expect(refused.status).toBe(503);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe("drained");
    // The job it already has: the same key is answered, not refused.
    const again = await post(url, first);
    expect(again.status).toBe(202);
    expect(((await again.json()) as { jobId: string }).jobId).toBe(accepted.jobId);
    const health = (await (await fetch(`${url}/health`)).json()) as { status: string };
    expect(health.status).toBe("draining");
    // A drain is the Worker's state: the executor does not echo it back as shutting down.
    expect(worker.got.at(-1)?.body.draining).toBe(false);
    worker.drain.on = false;
    const resumed = worker.got.length;
    await until("a heartbeat after the resume", () => worker.got.length >= resumed + 2);
    expect((await post(url, { ...first, jobKey: "k-3" })).status).toBe(202);
  });

  it("a stopping executor says so at once: its next heartbeat carries draining", async () => {
    const worker = await standInWorker();
    cleanups.push(() => new Promise<void>((r) => worker.server.close(() => r())));
    const h = harness({ POOL_URL: worker.url, HEARTBEAT_MS: "60000" });
    cleanups.push(h.cleanup);
    const { ex } = await start(h);
    await until("the first heartbeat", () => worker.got.length >= 1);
    await ex.shutdown();
    expect(worker.got.map((g) => g.body.draining)).toEqual([false, true]);
  });

  it("takes its id from the hostname unless EXECUTOR_ID names one", () => {
    expect(idFromHostname("vm-1.example.internal")).toBe("vm-1.example.internal");
    expect(idFromHostname("_weird host!")).toBe("weird-host-");
    expect(idFromHostname("")).toBe("executor");
    const env = { EXECUTOR_SECRET: SECRET, CALLBACK_SECRET, POOL_URL: "https://w.example/" };
    expect(loadConfig(env).POOL_URL).toBe("https://w.example");
    expect(() => loadConfig({ ...env, EXECUTOR_ID: "a b" })).toThrow(/EXECUTOR_ID/);
    expect(() => loadConfig({ ...env, POOL_URL: "ftp://w.example" })).toThrow(/POOL_URL/);
  });
});
