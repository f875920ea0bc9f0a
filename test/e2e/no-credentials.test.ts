/**
 * A newcomer's first task: the shipped profiles (executor/config/profiles.json) and no key, token or
 * login anywhere. Nothing may look like a paid model failure: health says degraded and what to set,
 * and a task fails at once with that list: no job, no human wait, no consensus run.
 */
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT } from "../../scripts/stack.ts";
import { type E2E, startE2E, waitState } from "./fixture.ts";

let e: E2E;

/** Every credential the shipped profiles read, set empty (a developer's shell may hold real ones). */
const NO_CREDENTIALS = Object.fromEntries(
  [
    "ANTHROPIC_API_KEY",
    "CLAUDE_CODE_OAUTH_TOKEN",
    "DEEPSEEK_API_KEY",
    "GEMINI_API_KEY",
    "OPENAI_API_KEY",
    "CODEX_API_KEY",
  ].map((k) => [k, ""]),
);

beforeAll(async () => {
  e = await startE2E(
    {},
    {},
    {
      PROFILES_FILE: path.join(ROOT, "executor", "config", "profiles.json"),
      ...NO_CREDENTIALS,
    },
  );
}, 120_000);

afterAll(async () => {
  await e?.stop();
}, 60_000);

describe("no credentials configured", () => {
  it("health is degraded and names what to set for each profile, never a value", async () => {
    const res = await fetch(`${e.stack.workerUrl}/health`);
    expect(res.status).toBe(503);
    const h = (await res.json()) as {
      status: string;
      reasons: string[];
      executor: { profiles: Record<string, { ready: boolean; missing?: string }> };
    };
    expect(h.status).toBe("degraded");
    expect(h.reasons.join(" ")).toMatch(/no profile can run on the executor: .*DEEPSEEK_API_KEY/);
    expect(Object.values(h.executor.profiles).every((p) => !p.ready && p.missing)).toBe(true);
  });

  it("execute fails in one pass with the list of what to configure: no job, no human, no consensus", async () => {
    const before = e.mock.requests().length;
    const client = await e.mcp();
    try {
      const r = (await client.callTool({
        name: "execute",
        arguments: { prompt: "Create hello.txt", repo: "demo", waitSeconds: 40 },
      })) as { structuredContent?: { taskId: string; status: string; error?: string } };
      const taskId = String(r.structuredContent?.taskId);
      const s = r.structuredContent?.status === "running" ? await waitState(e, taskId) : r.structuredContent;
      expect(s?.status).toBe("failed");
      expect(s?.error).toMatch(
        /^no profile could run\. Configure the executor: deepseek: not ready: .*DEEPSEEK_API_KEY/,
      );
      const detail = (await (await e.api(`/api/tasks/${taskId}`)).json()) as {
        stages: { status: string; costUsd: number }[];
      };
      expect(detail.stages.length).toBeGreaterThan(0);
      expect(detail.stages.every((st) => st.status === "skipped" && st.costUsd === 0)).toBe(true);
      expect(e.mock.requests().length).toBe(before);
      const cooling = (await (await e.api("/api/cooldowns")).json()) as { cooldowns: unknown[] };
      expect(cooling.cooldowns).toEqual([]);
    } finally {
      await client.close();
    }
  }, 60_000);
});
