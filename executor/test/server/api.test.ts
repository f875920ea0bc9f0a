import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import os from "node:os";
import path from "node:path";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { verifyBody } from "@vault-mcp/contract";
import { CALLBACK_SECRET, harness, job, liveProcesses, post, start, waitJob, type Harness } from "./harness.ts";
import type { Executor } from "../../src/executor.ts";

let h: Harness;
let ex: Executor | undefined;
afterEach(async () => {
  await ex?.shutdown().catch(() => undefined);
  ex = undefined;
  h?.cleanup();
});

async function boot(extra: Record<string, string> = {}) {
  h = harness(extra);
  const s = await start(h);
  ex = s.ex;
  return s.url;
}

describe("executor API", () => {
  it("runs a job in a worktree: files, commit, cost, compressed result", async () => {
    const url = await boot();
    const res = await post(`${url}/jobs`, job());
    expect(res.status).toBe(202);
    const accepted = (await res.json()) as { jobId: string; status: string };
    expect(["queued", "running"]).toContain(accepted.status);
    const view = (await waitJob(url, accepted.jobId)) as { status: string; result: { ok: boolean; files: unknown; commit: string; run: { costUsd: number; costSource: string }; compressed: string; branch: string } };
    expect(view.status).toBe("succeeded");
    expect(view.result.files).toEqual([{ path: "hello.txt", added: 1, deleted: 0 }]);
    expect(view.result.commit).toMatch(/^[0-9a-f]{40}$/);
    expect(view.result.branch).toBe(`vault/${accepted.jobId}`);
    expect(view.result.run).toMatchObject({ costUsd: 0.002895, costSource: "reported" });
    expect(view.result.compressed).toContain("flowchart");
  });

  it("POST /execute waits and returns the result", async () => {
    const url = await boot();
    const res = await post(`${url}/execute`, job({ verbosity: "summary" }));
    expect(res.status).toBe(200);
    const view = (await res.json()) as { status: string; result: { compressed: string } };
    expect(view.status).toBe("succeeded");
    expect(view.result.compressed).toMatch(/^ok · sonnet/);
  });

  it("50 concurrent identical POST /jobs → one job, one spawn; another body with the key → 422", async () => {
    const url = await boot();
    const body = job({ prompt: "sleep:300 write:a.txt" });
    const answers = await Promise.all(Array.from({ length: 50 }, () => post(`${url}/jobs`, body).then(async (r) => ({ status: r.status, id: ((await r.json()) as { jobId: string }).jobId }))));
    expect(new Set(answers.map((a) => a.status))).toEqual(new Set([202]));
    expect(new Set(answers.map((a) => a.id)).size).toBe(1);
    await waitJob(url, answers[0]?.id as string);
    expect(h.spawns()).toHaveLength(1);
    const conflict = await post(`${url}/jobs`, { ...body, prompt: "something else" });
    expect(conflict.status).toBe(422);
    expect(h.spawns()).toHaveLength(1);
  });

  it("2 executors + queue of 8: 15 requests → 10 accepted, 5 × 429 with Retry-After; never > 2 CLIs alive", async () => {
    const url = await boot({ MAX_EXECUTORS: "2", MAX_QUEUE: "8" });
    let peak = 0;
    const sampler = setInterval(() => {
      peak = Math.max(peak, liveProcesses(h.dir, "fake-claude").length, ex?.queue.running ?? 0);
    }, 20);
    const answers = await Promise.all(Array.from({ length: 15 }, (_, i) => post(`${url}/jobs`, job({ prompt: `sleep:400 write:f${i}.txt` }))));
    const statuses = answers.map((r) => r.status);
    expect(statuses.filter((s) => s === 202)).toHaveLength(10);
    const refused = answers.filter((r) => r.status === 429);
    expect(refused).toHaveLength(5);
    for (const r of refused) expect(Number(r.headers.get("retry-after"))).toBeGreaterThan(0);
    await ex?.queue.idle();
    clearInterval(sampler);
    expect(peak).toBeGreaterThan(0);
    expect(peak).toBeLessThanOrEqual(2);
    expect(h.spawns()).toHaveLength(10);
  });

  it("401 without the right token, before the body is read, and nothing runs", async () => {
    const url = await boot();
    for (const headers of [{ "x-auth-token": "wrong" }, { "x-auth-token": "" }]) {
      const res = await post(`${url}/jobs`, "x".repeat(2 * 1024 * 1024), headers);
      expect(res.status).toBe(401);
    }
    expect((await fetch(`${url}/jobs/j-1`)).status).toBe(401);
    expect(h.spawns()).toHaveLength(0);
    expect((await fetch(`${url}/health`)).status).toBe(200);
  });

  it("bad bodies → 400/413/415 with a message that says what to fix; traversal refused", async () => {
    const url = await boot();
    const bad = await post(`${url}/jobs`, { jobKey: "k", repo: "demo" });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { message: string } }).error.message).toMatch(/prompt/);
    expect((await post(`${url}/jobs`, "{nope")).status).toBe(400);
    expect((await post(`${url}/jobs`, JSON.stringify(job()), { "content-type": "text/plain" })).status).toBe(415);
    expect((await post(`${url}/jobs`, JSON.stringify({ ...job(), prompt: "x".repeat(300 * 1024) }))).status).toBe(413);
    for (const repo of ["../demo", "/etc", "demo/../../x", "nope"]) {
      const r = await post(`${url}/jobs`, job({ repo }));
      expect(r.status, repo).toBe(400);
    }
    expect((await post(`${url}/jobs`, job({ profile: "sonnet", executor: "claude" }))).status).toBe(400);
    expect((await post(`${url}/jobs`, job({ timeoutMs: 10 }))).status).toBe(400);
    expect(h.spawns()).toHaveLength(0);
  });

  it("a timeout kills the CLI's whole tree and reads timeout", async () => {
    const url = await boot();
    const res = await post(`${url}/jobs`, job({ prompt: "hang", timeoutMs: 1000 }));
    const { jobId } = (await res.json()) as { jobId: string };
    const view = (await waitJob(url, jobId)) as { status: string; result: { ok: boolean; run: { error: { kind: string } } } };
    expect(view.status).toBe("failed");
    expect(view.result.run.error.kind).toBe("timeout");
    await ex?.runner.settle(); // the worktree's own cleanup (git) runs after the result
    expect(liveProcesses(`${h.dir}`)).toEqual([]);
  });

  it("a failed verify fails the job and keeps its worktree", async () => {
    const url = await boot();
    const res = await post(`${url}/execute`, job({ verify: ["node", "-e", "process.exit(3)"] }));
    const view = (await res.json()) as { status: string; result: { ok: boolean; verify: { ok: boolean; exitCode: number } } };
    expect(view.status).toBe("failed");
    expect(view.result.verify).toMatchObject({ ok: false, exitCode: 3 });
    const ok = (await (await post(`${url}/execute`, job({ verify: ["node", "-e", "process.exit(0)"] }))).json()) as { status: string };
    expect(ok.status).toBe("succeeded");
  });

  it("posts a signed callback, retrying after a 500", async () => {
    const bodies: { sig: string | undefined; body: string }[] = [];
    let calls = 0;
    const receiver = createServer((req, res) => {
      let body = "";
      req.on("data", (c: Buffer) => (body += c.toString()));
      req.on("end", () => {
        calls += 1;
        bodies.push({ sig: req.headers["x-vault-signature"] as string | undefined, body });
        res.writeHead(calls === 1 ? 500 : 200).end();
      });
    });
    await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", () => r()));
    const port = (receiver.address() as AddressInfo).port;
    try {
      h = harness();
      const s = await start(h);
      ex = s.ex;
      const { jobId } = (await (await post(`${s.url}/jobs`, job({ callbackUrl: `http://127.0.0.1:${port}/cb` }))).json()) as { jobId: string };
      await waitJob(s.url, jobId);
      const deadline = Date.now() + 10_000;
      while (calls < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(calls).toBe(2);
      const last = bodies[1] as { sig: string; body: string };
      expect(await verifyBody(CALLBACK_SECRET, last.body, last.sig)).toBe(true);
      expect(await verifyBody("wrong-secret-0123456789", last.body, last.sig)).toBe(false);
      expect(JSON.parse(last.body)).toMatchObject({ jobId, status: "succeeded" });
    } finally {
      receiver.close();
    }
  });

  it("consensus runs two profiles in two worktrees at once and compares them", async () => {
    // The configured pair is sonnet + codex; here both sides run the fake claude.
    const dir = mkdtempSync(path.join(os.tmpdir(), "vault-profiles-"));
    const file = path.join(dir, "profiles.json");
    const claudeSide = (model: string) => ({ cli: "claude", model, env: {} });
    writeFileSync(file, JSON.stringify({ profiles: { sonnet: claudeSide("sonnet"), opus: claudeSide("opus") }, consensus: ["sonnet", "opus"], direct: { claude: "sonnet", codex: "sonnet", gemini: "sonnet" } }));
    try {
      const url = await boot({ PROFILES_FILE: file });
      const res = await post(`${url}/execute`, job({ profile: "consensus" }));
      const view = (await res.json()) as { status: string; result: { consensus: { verdict: string; filesBoth: string[] }; runB: unknown; compressed: string; costUsd: number } };
      expect(view.status).toBe("succeeded");
      expect(view.result.consensus).toMatchObject({ verdict: "agree", filesBoth: ["hello.txt"] });
      expect(view.result.runB).toBeTruthy();
      expect(view.result.costUsd).toBeCloseTo(2 * 0.002895, 8);
      expect(view.result.compressed).toContain("flowchart");
      expect(h.spawns()).toHaveLength(2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

