/** The HTTP API in-process on port 0: real git repo, real worktrees, the fake claude as a real process. */
import { chmodSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { ExecutorHealth, JobView, MAX_JOB_REQUEST_BYTES, MAX_PROMPT_CHARS, WireError } from "@vault-mcp/contract";
import { afterEach, describe, expect, it } from "vitest";
import type { Executor } from "../../src/executor.ts";
import { callbackReceiver, type Received } from "../callback/receiver.ts";
import {
  CALLBACK_SECRET,
  consensusProfiles,
  getJob,
  type Harness,
  harness,
  job,
  liveProcesses,
  post,
  SECRET,
  start,
  until,
  waitJob,
} from "./harness.ts";

let h: Harness | undefined;
let ex: Executor | undefined;
afterEach(async () => {
  await ex?.shutdown().catch(() => undefined);
  ex = undefined;
  h?.cleanup();
  h = undefined;
});

async function boot(extra: Record<string, string> = {}, o: Parameters<typeof start>[1] = {}) {
  h = harness(extra);
  const s = await start(h, o);
  ex = s.ex;
  return s.url;
}

const hostPort = (url: string) => {
  const u = new URL(url);
  return { host: u.hostname, port: Number(u.port) };
};

/** Sends raw bytes and collects what comes back until the server closes the connection. */
function raw(url: string, head: string, body = ""): Promise<{ text: string; closed: boolean }> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(hostPort(url));
    let text = "";
    sock.on("data", (c: Buffer) => (text += c.toString()));
    sock.on("error", reject);
    sock.on("close", () => resolve({ text, closed: true }));
    sock.write(head + body);
    // Never finish the body: an answer can only come from the headers.
    setTimeout(() => {
      sock.destroy();
      resolve({ text, closed: false });
    }, 3_000).unref();
  });
}

const readdirIfAny = (dir: string) => {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
};

const errorOf = async (res: Response) => WireError.parse(await res.json()).error;

describe("POST /jobs and GET /jobs/:id", () => {
  it("runs a job in a worktree: 202 JobView, then files, commit, cost and the Mermaid result", async () => {
    const url = await boot();
    const res = await post(`${url}/jobs`, job());
    expect(res.status).toBe(202);
    const accepted = JobView.parse(await res.json());
    expect(["queued", "running"]).toContain(accepted.status);
    expect(accepted.result).toBeNull();
    const view = JobView.parse(await waitJob(url, accepted.jobId));
    expect(view.status).toBe("succeeded");
    expect(view.startedAt).not.toBeNull();
    expect(view.result?.files).toEqual([{ path: "hello.txt", added: 1, deleted: 0 }]);
    expect(view.result?.commit).toMatch(/^[0-9a-f]{40}$/);
    expect(view.result?.branch).toBe(`vault/${accepted.jobId}`);
    expect(view.result?.run).toMatchObject({ ok: true, cli: "claude", costUsd: 0.002895, costSource: "reported" });
    expect(view.result?.compressed).toContain("flowchart");
  });

  it("POST /execute waits and returns the full result", async () => {
    const url = await boot();
    const res = await post(`${url}/execute`, job({ verbosity: "summary", prompt: "sleep:200 write:a.txt" }));
    expect(res.status).toBe(200);
    const view = JobView.parse(await res.json());
    expect(view.status).toBe("succeeded");
    expect(view.finishedAt).not.toBeNull();
    expect(view.result?.files.map((f) => f.path)).toEqual(["a.txt"]);
    expect(view.result?.compressed).toMatch(/^ok · sonnet/);
  });

  it("100 concurrent identical POST /jobs → one job and one spawn; the key with another body → 422", async () => {
    const url = await boot();
    const body = job({ prompt: "sleep:300 write:a.txt" });
    const answers = await Promise.all(
      Array.from({ length: 100 }, () =>
        post(`${url}/jobs`, body).then(async (r) => ({ status: r.status, id: JobView.parse(await r.json()).jobId })),
      ),
    );
    expect(new Set(answers.map((a) => a.status))).toEqual(new Set([202]));
    expect(new Set(answers.map((a) => a.id)).size).toBe(1);
    await waitJob(url, answers[0]?.id as string);
    // Key order does not make another body.
    const reordered = Object.fromEntries(Object.entries(body).reverse());
    expect(JobView.parse(await (await post(`${url}/jobs`, reordered)).json()).jobId).toBe(answers[0]?.id);
    const conflict = await post(`${url}/jobs`, { ...body, prompt: "something else" });
    expect(conflict.status).toBe(422);
    expect(await errorOf(conflict)).toMatchObject({ code: "job_key_conflict" });
    expect(h?.spawns()).toHaveLength(1);
    expect(ex?.store.counts().succeeded).toBe(1);
  });

  it("2 executors + queue of 8: 15 requests → 10 accepted, 5 × 429 with Retry-After; never > 2 CLIs alive", async () => {
    const url = await boot({ MAX_EXECUTORS: "2", MAX_QUEUE: "8" });
    const dir = h?.dir as string;
    let peak = 0;
    const sampler = setInterval(() => {
      peak = Math.max(peak, liveProcesses(dir, "fake-claude").length, ex?.queue.running ?? 0);
    }, 20);
    try {
      const answers = await Promise.all(
        Array.from({ length: 15 }, (_, i) => post(`${url}/jobs`, job({ prompt: `sleep:400 write:f${i}.txt` }))),
      );
      expect(answers.filter((r) => r.status === 202)).toHaveLength(10);
      const refused = answers.filter((r) => r.status === 429);
      expect(refused).toHaveLength(5);
      for (const r of refused) {
        expect(Number(r.headers.get("retry-after"))).toBeGreaterThan(0);
        expect(await errorOf(r)).toMatchObject({ code: "queue_full" });
      }
      await ex?.queue.idle();
    } finally {
      clearInterval(sampler);
    }
    expect(peak).toBeGreaterThan(0);
    expect(peak).toBeLessThanOrEqual(2);
    expect(h?.spawns()).toHaveLength(10);
    expect(ex?.store.counts()).toMatchObject({ succeeded: 10, queued: 0, running: 0 });
  });

  it("GET /jobs/:id of an unknown job → 404; a wrong method → 405; an unknown route → 404", async () => {
    const url = await boot();
    const missing = await fetch(`${url}/jobs/j-nope`, { headers: { "x-auth-token": SECRET } });
    expect(missing.status).toBe(404);
    expect(await errorOf(missing)).toMatchObject({ code: "not_found" });
    const wrong = await fetch(`${url}/jobs`, { headers: { "x-auth-token": SECRET } });
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get("allow")).toBe("POST");
    expect((await fetch(`${url}/nope`, { headers: { "x-auth-token": SECRET } })).status).toBe(404);
  });
});

describe("auth and body checks", () => {
  it("401 without the right token, nothing runs; /health stays open", async () => {
    const url = await boot();
    for (const headers of [{ "x-auth-token": "wrong" }, { "x-auth-token": "" }, { "x-auth-token": `${SECRET}x` }]) {
      const res = await post(`${url}/jobs`, job(), headers);
      expect(res.status).toBe(401);
      expect(await errorOf(res)).toEqual({ code: "unauthorized", message: "missing or wrong x-auth-token" });
    }
    const noHeader = await fetch(`${url}/jobs`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(job()),
    });
    expect(noHeader.status).toBe(401);
    expect((await fetch(`${url}/jobs/j-1`)).status).toBe(401);
    expect((await fetch(`${url}/health`)).status).toBe(200);
    expect(h?.spawns()).toHaveLength(0);
    expect(ex?.store.counts()).toMatchObject({ queued: 0, running: 0, succeeded: 0 });
  });

  it("answers 401 from the headers alone, without reading the body, and closes the connection", async () => {
    const url = await boot();
    const head = `POST /jobs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 50000000\r\nx-auth-token: wrong\r\n\r\n`;
    const r = await raw(url, head, '{"jobKey":"k",');
    expect(r.text).toMatch(/^HTTP\/1\.1 401 /);
    expect(r.text.toLowerCase()).toContain("connection: close");
    // 50 MB were announced and never sent: the server hung up instead of waiting for them.
    expect(r.closed).toBe(true);
    // A 2 MB body with a wrong token gets its 401 as well (fetch sees the answer, not a reset).
    expect((await post(`${url}/jobs`, "x".repeat(2 * 1024 * 1024), { "x-auth-token": "wrong" })).status).toBe(401);
  });

  it("the largest valid prompt is accepted and reaches the CLI intact, on stdin (100,000 chars, 300 KB as UTF-8)", async () => {
    const url = await boot();
    // Three bytes each as UTF-8, and a markdown bullet first: a prompt is never an option.
    const prompt = `- ${"€".repeat(MAX_PROMPT_CHARS - 2)}`;
    expect(Buffer.byteLength(prompt)).toBeGreaterThan(299_000);
    const res = await post(`${url}/execute`, job({ prompt }));
    expect(res.status).toBe(200);
    expect(JobView.parse(await res.json()).status).toBe("succeeded");
    expect(h?.spawns()).toEqual([prompt]);
    // One character more is a 400 that names the field, not a 413.
    const over = await post(`${url}/jobs`, job({ prompt: `${prompt}x` }));
    expect(over.status).toBe(400);
    expect((await errorOf(over)).message).toMatch(/'prompt'/);
  });

  it("413 for a body over the limit, declared or streamed; 415 for another content type; 400 for bad JSON", async () => {
    const url = await boot();
    const big = await post(`${url}/jobs`, JSON.stringify({ ...job(), prompt: "x".repeat(MAX_JOB_REQUEST_BYTES) }));
    expect(big.status).toBe(413);
    expect(await errorOf(big)).toMatchObject({
      code: "payload_too_large",
      message: expect.stringMatching(/larger than 1048576 bytes: .*a prompt is at most 100000 characters/),
    });
    const declared = await raw(
      url,
      `POST /jobs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 999999999\r\nx-auth-token: ${SECRET}\r\n\r\n`,
    );
    expect(declared.text).toMatch(/^HTTP\/1\.1 413 /);
    const chunk = "x".repeat(64 * 1024);
    const chunked = await raw(
      url,
      `POST /jobs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nx-auth-token: ${SECRET}\r\n\r\n`,
      `${chunk.length.toString(16)}\r\n${chunk}\r\n`.repeat(17),
    );
    expect(chunked.text).toMatch(/^HTTP\/1\.1 413 /);
    const text = await post(`${url}/jobs`, JSON.stringify(job()), { "content-type": "text/plain" });
    expect(text.status).toBe(415);
    expect((await errorOf(text)).message).toMatch(/application\/json/);
    const bad = await post(`${url}/jobs`, "{nope");
    expect(bad.status).toBe(400);
    expect(await errorOf(bad)).toMatchObject({ code: "bad_json" });
    expect(h?.spawns()).toHaveLength(0);
  });

  it("400s name the field and say what would be accepted", async () => {
    const url = await boot();
    const cases: [unknown, RegExp][] = [
      [{ jobKey: "k", repo: "demo", profile: "sonnet" }, /'prompt' is required: a non-empty string/],
      [{ ...job(), extra: 1 }, /unknown field 'extra'; the fields are jobKey, /],
      [job({ executor: "claude" }), /exactly one of 'profile'.*or 'executor'/],
      [job({ profile: "gpt" }), /'profile' must be one of deepseek, gemini-flash/],
      [job({ verify: "npm test" }), /'verify' must be an array, not a string: a command as an argument array/],
      [job({ timeoutMs: 10 }), /'timeoutMs' is invalid .*from 1000 to 3600000/],
      [job({ repo: "../etc" }), /'repo': repo must be a plain name/],
      [job({ callbackUrl: "ftp://x/y" }), /'callbackUrl' is invalid .*http\(s\) URL/],
      [job({ maxBudgetUsd: 0 }), /'maxBudgetUsd' is invalid .*left of the task's budget/],
      [job({ prompt: "a\u0000b" }), /'prompt': prompt must not contain a NUL character/],
      [
        job({ source: { url: "https://u:t@github.com/o/r", defaultBranch: "main" } }),
        /'source.url': url must not carry a user or token/,
      ],
      [job({ source: { url: "https://github.com/o/r" } }), /'source.defaultBranch' is required: the repo's remote/],
      [job({ profile: "gpt" }), /must be one of deepseek, gemini-flash, gemini-pro, sonnet, opus, codex, consensus/],
      [[1, 2], /the body must be a JSON object like .*, not an array/],
    ];
    for (const [body, message] of cases) {
      const res = await post(`${url}/jobs`, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      const err = await errorOf(res);
      expect(err.code).toBe("invalid_input");
      expect(err.message).toMatch(message);
    }
    expect(h?.spawns()).toHaveLength(0);
  });

  it("refuses repos outside the allowlist, traversal and symlinks out of REPOS_DIR with 400, creating nothing", async () => {
    const url = await boot({ REPO_ALLOWLIST: "demo,escape" });
    const outside = mkdtempSync(path.join(os.tmpdir(), "vault-outside-"));
    try {
      const { symlinkSync } = await import("node:fs");
      symlinkSync(outside, path.join(h?.dir as string, "repos", "escape"));
      for (const repo of ["../demo", "/etc", "demo/../../x", "nope", "escape"]) {
        const r = await post(`${url}/jobs`, job({ repo }));
        expect(r.status, repo).toBe(400);
        const e = await errorOf(r);
        // A name it has, the executor says which ones would do ("escape" leads outside: not one of them).
        if (repo === "nope")
          expect(e).toEqual({
            code: "repo_not_allowed",
            message: "invalid job: repo 'nope' is not allowed; this executor has: demo",
          });
      }
    } finally {
      rmSync(outside, { recursive: true, force: true });
    }
    expect(h?.spawns()).toHaveLength(0);
    expect(ex?.store.counts()).toMatchObject({ queued: 0, running: 0, failed: 0 });
    expect(readdirIfAny(path.join(h?.dir as string, "worktrees"))).toEqual([]);
  });
});

describe("runs that fail", () => {
  it("a timeout kills the CLI's whole tree; the result reads timeout", async () => {
    const url = await boot();
    const res = await post(`${url}/jobs`, job({ prompt: "hang", timeoutMs: 1000 }));
    const { jobId } = JobView.parse(await res.json());
    const view = JobView.parse(await waitJob(url, jobId));
    expect(view.status).toBe("failed");
    expect(view.result?.run.error?.kind).toBe("timeout");
    await ex?.runner.settle(); // the worktree's own cleanup (git) runs after the result
    expect(liveProcesses(h?.dir as string)).toEqual([]);
  });

  it("a failed verify fails the job; a passing one succeeds", async () => {
    const url = await boot();
    const failed = JobView.parse(
      await (await post(`${url}/execute`, job({ verify: ["node", "-e", "process.exit(3)"] }))).json(),
    );
    expect(failed.status).toBe("failed");
    expect(failed.result?.verify).toMatchObject({ ok: false, exitCode: 3 });
    expect(failed.result?.run.ok).toBe(true);
    const ok = JobView.parse(
      await (
        await post(`${url}/execute`, job({ verify: ["node", "-e", "require('fs').statSync('hello.txt')"] }))
      ).json(),
    );
    expect(ok.status).toBe("succeeded");
    expect(ok.result?.verify).toMatchObject({ ok: true, exitCode: 0 });
  });

  it("a CLI that floods its output: stored capped and marked truncated, the job record stays small", async () => {
    const url = await boot();
    const view = JobView.parse(await (await post(`${url}/execute`, job({ prompt: "flood" }))).json());
    expect(["succeeded", "failed"]).toContain(view.status);
    expect(view.result?.run.truncated).toBe(true);
    expect(JSON.stringify(view).length).toBeLessThan(1.5 * 1024 * 1024);
  });

  it("a CLI API error fails the job with the adapter's error kind", async () => {
    const url = await boot();
    const view = JobView.parse(await (await post(`${url}/execute`, job({ prompt: "fail" }))).json());
    expect(view.status).toBe("failed");
    expect(view.result?.ok).toBe(false);
    expect(view.result?.run.error?.kind).toBe("api");
  });
});

describe("callbacks and health", () => {
  it("posts a signed callback to callbackUrl, retried after a 500", async () => {
    const { verifyBody } = await import("@vault-mcp/contract");
    const receiver = await callbackReceiver([500, 204]);
    const { got } = receiver;
    try {
      const url = await boot();
      const { jobId } = JobView.parse(
        await (await post(`${url}/jobs`, job({ callbackUrl: `${receiver.url}?task=1` }))).json(),
      );
      await waitJob(url, jobId);
      await until(() => got.length >= 2 && ex?.store.get(jobId)?.callbackState === "sent", 10_000, "callback");
      expect(got).toHaveLength(2);
      const last = got[1] as Received;
      expect(await verifyBody(CALLBACK_SECRET, last.body, last.sig)).toBe(true);
      expect(await verifyBody("wrong-secret-0123456789", last.body, last.sig)).toBe(false);
      const view = JobView.parse(JSON.parse(last.body));
      expect(view).toMatchObject({ jobId, status: "succeeded" });
      expect(view).toEqual(JobView.parse(await getJob(url, jobId)));
      expect(ex?.store.get(jobId)?.callbackAttempts).toBe(2);
    } finally {
      receiver.server.close();
    }
  });

  it("GET /health: version, uptime, queue figures, each CLI found or missing, probed once, and each profile's readiness; no secret", async () => {
    const bin = mkdtempSync(path.join(os.tmpdir(), "vault-bin-"));
    const fakeVersion = path.join(bin, "claude");
    writeFileSync(fakeVersion, `#!${process.execPath}\nprocess.stdout.write("2.1.331 (Claude Code)\\n");\n`);
    chmodSync(fakeVersion, 0o755);
    try {
      const url = await boot(
        { CLAUDE_BIN: fakeVersion, CODEX_BIN: path.join(bin, "codex-missing"), GEMINI_BIN: "no-such-gemini-cli" },
        { probeClis: true, env: { ANTHROPIC_API_KEY: "sk-ant-key-value", GEMINI_API_KEY: "g-key-value" } },
      );
      await until(
        async () => ((await (await fetch(`${url}/health`)).json()) as { clis: unknown }).clis !== null,
        10_000,
        "the CLI probe",
      );
      const res = await fetch(`${url}/health`);
      const text = await res.text();
      expect(res.status).toBe(200);
      expect(JSON.parse(text)).toMatchObject({
        status: "ok",
        version: expect.any(String),
        uptimeSeconds: expect.any(Number),
        running: 0,
        queued: 0,
        capacity: 2,
        maxQueue: 8,
        clis: {
          claude: { found: true, path: fakeVersion, version: "2.1.331 (Claude Code)" },
          codex: { found: false, path: null, version: null },
          gemini: { found: false, path: null, version: null },
        },
        profiles: {
          sonnet: { cli: "claude", auth: "api_key", ready: true },
          opus: { ready: true },
          deepseek: { ready: false, missing: "set DEEPSEEK_API_KEY" },
          "gemini-flash": {
            ready: false,
            missing: "install the gemini CLI (`npm run clis` locally) or set GEMINI_BIN",
          },
          codex: {
            ready: false,
            missing: "install the codex CLI (`npm run clis` locally) or set CODEX_BIN; set OPENAI_API_KEY",
          },
        },
        consensus: { profiles: ["sonnet", "codex"], ready: false },
        direct: { claude: "sonnet", codex: "codex", gemini: "gemini-flash" },
      });
      // The contract's schema, which the Worker parses it with.
      expect(ExecutorHealth.safeParse(JSON.parse(text)).success).toBe(true);
      await until(
        async () => ExecutorHealth.parse(await (await fetch(`${url}/health`)).json()).disk !== null,
        10_000,
        "the disk measurement",
      );
      for (const secret of [SECRET, CALLBACK_SECRET, "sk-ant-key-value", "g-key-value"])
        expect(await (await fetch(`${url}/health`)).text()).not.toContain(secret);
    } finally {
      rmSync(bin, { recursive: true, force: true });
    }
  });

  it("no profile ready: /health is degraded and says why; a job fails at once as `setup`, nothing spawned", async () => {
    const url = await boot({}, { env: {} });
    const health = ExecutorHealth.parse(await (await fetch(`${url}/health`)).json());
    expect(health).toMatchObject({ status: "degraded", reason: expect.stringMatching(/no profile can run/) });
    expect(health.profiles.sonnet).toMatchObject({ ready: false, missing: "set ANTHROPIC_API_KEY" });
    const view = JobView.parse(await (await post(`${url}/execute`, job())).json());
    expect(view).toMatchObject({
      status: "failed",
      result: { ok: false, costUsd: 0, run: { error: { kind: "setup", message: "set ANTHROPIC_API_KEY" } } },
    });
    expect(h?.spawns()).toHaveLength(0);
    expect(readdirIfAny(path.join(h?.dir as string, "worktrees"))).toEqual([]);
  });
});

describe("consensus", () => {
  it("runs two profiles in two worktrees at once (two slots) and compares them", async () => {
    // The shipped pair is sonnet + codex; here it is sonnet + opus, so both sides run the fake claude.
    const dir = mkdtempSync(path.join(os.tmpdir(), "vault-profiles-"));
    const file = consensusProfiles(dir);
    try {
      const url = await boot({ PROFILES_FILE: file });
      const res = await post(`${url}/execute`, job({ profile: "consensus", prompt: "sleep:300 write:hello.txt" }));
      const view = JobView.parse(await res.json());
      expect(view.status).toBe("succeeded");
      expect(view.result?.consensus).toMatchObject({
        verdict: "agree",
        filesBoth: ["hello.txt"],
        profiles: ["sonnet", "opus"],
      });
      expect(view.result?.runB?.ok).toBe(true);
      expect(view.result?.costUsd).toBeCloseTo(2 * 0.002895, 8);
      expect(view.result?.compressed).toContain("flowchart");
      expect(h?.spawns()).toHaveLength(2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
