import { it } from "vitest";
import { FAKE_CLAUDE } from "../../executor/test/server/harness.ts";
import { startE2E } from "./fixture.ts";

it("debug describe", { timeout: 300_000 }, async () => {
  const e = await startE2E(
    {},
    { EXECUTE_RATE_PER_MINUTE: "100000", MAX_ACTIVE_TASKS: "100000" },
    { CLAUDE_BIN: FAKE_CLAUDE, AGENT_SANDBOX: "off" },
  );
  try {
    const client = await e.mcp();
    for (let i = 0; i < 8; i++) {
      const t0 = Date.now();
      const r = await client.callTool({
        name: "execute",
        arguments: { prompt: "write:hello.txt", repo: "demo", profile: "sonnet", waitSeconds: 30 },
      });
      const t1 = Date.now();
      const id = (r.structuredContent as { taskId: string }).taskId;
      const d = JSON.parse(
        e.wrangler(["workflows", "instances", "describe", "execute-workflow", id, "--json"]),
      ) as Record<string, unknown> & { steps: { name: string; start: string; end: string }[] };
      const keys = Object.keys(d).filter((k) => k !== "steps");
      let prev = t0;
      const parts: string[] = [`total ${t1 - t0}`];
      for (const k of keys)
        if (typeof d[k] === "string" && /T\d\d:/.test(String(d[k])))
          parts.push(`${k}=${Date.parse(String(d[k])) - t0}`);
      for (const s of d.steps) {
        const a = Date.parse(s.start),
          b = Date.parse(s.end);
        parts.push(`gap ${a - prev} | ${s.name} ${b - a}`);
        prev = b;
      }
      parts.push(`tail ${t1 - prev}`);
      const w = d.steps.find((s) => s.name.startsWith("wait")) as unknown as {
        output: { payload: { createdAt: string; startedAt: string; finishedAt: string } };
      };
      const pl = w.output.payload;
      parts.push(
        `job created ${Date.parse(pl.createdAt) - t0} started ${Date.parse(pl.startedAt) - t0} finished ${Date.parse(pl.finishedAt) - t0}`,
      );
      console.log(parts.join("\n  "));
    }
  } finally {
    await e.stop();
  }
});
