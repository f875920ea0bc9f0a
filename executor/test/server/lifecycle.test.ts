/** The executor as a real process: kill -9 and restart, and SIGTERM. */
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { harness, job, liveProcesses, post, waitJob, type Harness } from "./harness.ts";

const MAIN = path.join(import.meta.dirname, "..", "..", "src", "main.ts");
let h: Harness;
const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill("SIGKILL");
  h?.cleanup();
});

async function boot(port: number, extra: Record<string, string> = {}): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [MAIN], { env: { ...process.env, ...h.env, PORT: String(port), ANTHROPIC_API_KEY: "k", ...extra }, stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  const url = await new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout?.on("data", (c: Buffer) => {
      out += c.toString();
      const m = /"url":"([^"]+)"/.exec(out);
      if (m?.[1]) resolve(m[1]);
    });
    child.stderr?.on("data", (c: Buffer) => (out += c.toString()));
    child.on("exit", (code) => reject(new Error(`executor exited ${code}: ${out}`)));
  });
  return { child, url };
}

const freePort = () => 40000 + Math.floor(Math.random() * 20000);

describe("executor process", () => {
  it("kill -9 mid-job, restart: the job reads interrupted, nothing is left running", async () => {
    h = harness({ LOG_LEVEL: "info" });
    const port = freePort();
    const first = await boot(port);
    const { jobId } = (await (await post(`${first.url}/jobs`, job({ prompt: "hang" }))).json()) as { jobId: string };
    const deadline = Date.now() + 10_000;
    while (h.spawns().length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    first.child.kill("SIGKILL");
    await new Promise((r) => first.child.once("exit", r));
    // The CLI was in its own process group and outlives a SIGKILL of the executor; systemd's
    // KillMode=control-group reaps it in production. Here we reap it like systemd would.
    for (const pid of liveProcesses(h.dir)) process.kill(pid, "SIGKILL");
    const second = await boot(port);
    const view = (await waitJob(second.url, jobId)) as { status: string };
    expect(view.status).toBe("interrupted");
    const health = (await (await fetch(`${second.url}/health`)).json()) as { running: number };
    expect(health.running).toBe(0);
  });

  it("SIGTERM: 503 for new jobs within a second, running job ends, exit 0 before the grace", async () => {
    h = harness({ SHUTDOWN_GRACE_MS: "5000" });
    const { child, url } = await boot(freePort());
    const { jobId } = (await (await post(`${url}/jobs`, job({ prompt: "sleep:1500 write:x.txt" }))).json()) as { jobId: string };
    while (h.spawns().length === 0) await new Promise((r) => setTimeout(r, 20));
    const t0 = Date.now();
    child.kill("SIGTERM");
    await new Promise((r) => setTimeout(r, 100));
    const refused = await post(`${url}/jobs`, job());
    expect(refused.status).toBe(503);
    expect(Date.now() - t0).toBeLessThan(1000);
    const code = child.exitCode ?? (await new Promise<number | null>((r) => child.once("exit", (c) => r(c))));
    expect(code).toBe(0);
    expect(Date.now() - t0).toBeLessThan(5000);
    const restarted = await boot(freePort());
    const view = (await waitJob(restarted.url, jobId)) as { status: string };
    expect(view.status).toBe("succeeded");
  });
});
