/** The `vault` binary as a real process against the real local stack. */
import { spawn } from "node:child_process";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startE2E, waitState, type E2E } from "../../test/e2e/fixture.ts";

const BIN = path.join(import.meta.dirname, "..", "bin", "vault.mjs");
let e: E2E;

function vault(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, VAULT_URL: e.stack.workerUrl, VAULT_AUTH_TOKEN: e.token, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString()));
    child.stderr.on("data", (c: Buffer) => (err += c.toString()));
    child.on("exit", (code) => resolve({ code, out, err }));
  });
}

/** A task pinned to deepseek, whose API answers 500: it fails and waits for a human. */
async function failedTask(): Promise<string> {
  const res = await e.api("/api/execute", { method: "POST", body: JSON.stringify({ prompt: "Create hello.txt", repo: "demo", profile: "deepseek", waitSeconds: 0 }) });
  const { taskId } = (await res.json()) as { taskId: string };
  expect((await waitState(e, taskId)).status).toBe("needs_human");
  return taskId;
}

beforeAll(async () => {
  e = await startE2E({ worker: 48787, executor: 48788, inspector: 49229 }, { deepseek: "500" }, { LADDER: "deepseek" });
}, 120_000);
afterAll(async () => {
  await e?.stop();
}, 60_000);

describe("vault CLI", () => {
  it("lists and shows a failed task (table and --json)", async () => {
    const id = await failedTask();
    const list = await vault(["tasks", "list", "--status", "needs_human", "--since", "1h"]);
    expect(list.code).toBe(0);
    expect(list.out).toContain(id);
    const json = await vault(["tasks", "list", "--json"]);
    expect((JSON.parse(json.out) as { id: string }[]).map((t) => t.id)).toContain(id);
    const show = await vault(["tasks", "show", id]);
    expect(show.code).toBe(0);
    expect(show.out).toMatch(/deepseek\s+claude\s+failed/);
    expect(show.out).toContain(`workflows instances describe execute-workflow ${id}`);
    const showJson = JSON.parse((await vault(["tasks", "show", id, "--json"])).out) as { stages: unknown[] };
    expect(showJson.stages).toHaveLength(1);
  });

  it("replays one failed task from another tier: one new linked instance, recorded; twice starts nothing", async () => {
    const id = await failedTask();
    const first = await vault(["replay", id, "--from-tier", "sonnet", "--json", "--poll-ms", "200"]);
    expect(first.code, first.err).toBe(0);
    const rows = JSON.parse(first.out) as { original: string; replay: string; outcome: string }[];
    expect(rows).toEqual([expect.objectContaining({ original: id, outcome: "succeeded" })]);
    const detail = (await (await e.api(`/api/tasks/${rows[0]?.replay}`)).json()) as { task: { replayOf: string } };
    expect(detail.task.replayOf).toBe(id);
    const decisions = (await (await e.api(`/api/decisions?taskId=${id}`)).json()) as { items: { kind: string }[] };
    expect(decisions.items.map((d) => d.kind)).toContain("replay");
    const again = await vault(["replay", id, "--from-tier", "sonnet", "--json"]);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.out)).toEqual([expect.objectContaining({ original: id, outcome: expect.stringContaining("skipped") })]);
  });

  it("bulk replay: --dry-run starts nothing; for real each once; a second run starts nothing; a failed replay exits 1", async () => {
    const a = await failedTask();
    const b = await failedTask();
    const count = async () => ((await (await e.api("/api/tasks?limit=500")).json()) as { tasks: unknown[] }).tasks.length;
    const before = await count();
    const dry = await vault(["replay", "--failed", "--since", "1h", "--dry-run", "--json"]);
    expect(dry.code).toBe(0);
    const planned = JSON.parse(dry.out) as { original: string; outcome: string }[];
    expect(planned.filter((r) => r.outcome === "would replay").map((r) => r.original)).toEqual(expect.arrayContaining([a, b]));
    expect(await count()).toBe(before);
    // Replays run at deepseek again, fail, and wait for a human: the command reports failure.
    const real = await vault(["replay", "--failed", "--since", "1h", "--concurrency", "2", "--json", "--poll-ms", "200"]);
    expect(real.code).toBe(1);
    const started = (JSON.parse(real.out) as { original: string; replay: string | null; outcome: string }[]).filter((r) => r.replay && !r.outcome.startsWith("skipped"));
    expect(started.map((r) => r.original)).toEqual(expect.arrayContaining([a, b]));
    const second = await vault(["replay", "--failed", "--since", "1h", "--json"]);
    expect((JSON.parse(second.out) as { outcome: string }[]).every((r) => r.outcome.startsWith("skipped"))).toBe(true);
  }, 120_000);

  it("exit codes: wrong token, Worker down and unknown task → 1 with one line; bad usage → 2", async () => {
    const wrong = await vault(["tasks", "list"], { VAULT_AUTH_TOKEN: "nope" });
    expect(wrong.code).toBe(1);
    expect(wrong.err.trim().split("\n")).toHaveLength(1);
    expect(wrong.err).toContain("unauthorized");
    const down = await vault(["health"], { VAULT_URL: "http://127.0.0.1:9" });
    expect(down.code).toBe(1);
    expect(down.err).toContain("cannot reach");
    const unknown = await vault(["tasks", "show", "t-20200101-0000-aaaaaa"]);
    expect(unknown.code).toBe(1);
    expect(unknown.err).toContain("not found");
    for (const args of [["frobnicate"], ["tasks"], ["replay"], ["replay", "--failed"], ["decide", "x"], ["tasks", "list", "--nope"], []]) {
      const r = await vault(args);
      expect(r.code, args.join(" ")).toBe(2);
    }
  });

  it("breakers and health", async () => {
    const b = await vault(["breakers", "--json"]);
    expect(b.code).toBe(0);
    expect(JSON.parse(b.out)).toMatchObject({ blocked: false });
    const h = await vault(["health"]);
    expect(h.out).toMatch(/d1 up\s+executor up/);
  });
});
