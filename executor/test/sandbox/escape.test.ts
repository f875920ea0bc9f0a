/**
 * A prompt-injected agent tries every escape of issue "Agent sandbox" from inside a real job: the
 * executor is a real process with secrets in its environment, the agent is a fake CLI that runs the
 * probes (src/sandbox/probe.ts) as the job's identity, next to another job that is still running.
 * With the sandbox on every attempt is refused; the same job on an executor with AGENT_SANDBOX=off
 * succeeds at each of them, so the assertions can fail.
 */
import { execFileSync } from "node:child_process";
import { randomInt } from "node:crypto";
import { existsSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ProbeResult, ProbeSpec } from "../../src/sandbox/probe.ts";
import { type Harness, harness, post, until, waitJob } from "../server/harness.ts";
import {
  cleanupAll,
  ESCAPE_CLI,
  IS_ROOT,
  makeIdentities,
  runningExecutor,
  sandboxHarness,
  type TestIdentities,
  trees,
} from "./helpers.ts";

interface Escape {
  results: ProbeResult[];
  health: Record<string, unknown>;
}

/** An address of the link-local range bound on lo with a listener: reachable unless a rule refuses it. */
let linkLocal: { host: string; port: number; server: Server } | undefined;

async function bindLinkLocal(): Promise<{ host: string; port: number; server: Server }> {
  const host = `169.254.${randomInt(1, 254)}.${randomInt(1, 254)}`;
  execFileSync("ip", ["addr", "add", `${host}/32`, "dev", "lo"]);
  const server = createServer((s) => s.end());
  await new Promise<void>((r) => server.listen(0, host, () => r()));
  return { host, port: (server.address() as { port: number }).port, server };
}

/** Job A holds its worktree (secret.txt) while job B, the escaping agent, runs `spec` plus the targets. */
async function tryEscapes(h: Harness, extraEnv: Record<string, string> = {}): Promise<Escape> {
  const { url, pid, stop } = await runningExecutor(h, extraEnv);
  try {
    const a = (await (
      await post(`${url}/jobs`, { jobKey: "hold", profile: "sonnet", prompt: "hold", repo: "demo" })
    ).json()) as {
      jobId: string;
    };
    let secret = "";
    await until(
      () => {
        secret =
          trees(h)
            .map((t) => path.join(t, "secret.txt"))
            .find((f) => existsSync(f)) ?? "";
        return secret !== "";
      },
      20_000,
      "job A's secret.txt",
    );
    const repo = path.join(h.dir, "repos", "demo");
    const spec: ProbeSpec = {
      environ: [pid],
      read: [path.join(h.dir, "data", "jobs.sqlite"), path.join(repo, ".git", "config"), secret],
      append: [path.join(h.dir, "data", "jobs.sqlite"), path.join(repo, ".git", "config")],
      create: [path.join(repo, ".git", "hooks")],
      connect: [
        { host: "169.254.169.254", port: 80 },
        { host: linkLocal?.host ?? "", port: linkLocal?.port ?? 0 },
      ],
      executor: `${url}/jobs/no-such-job`,
      timeoutMs: 1500,
    };
    const res = await post(`${url}/execute`, {
      jobKey: "escape",
      profile: "sonnet",
      prompt: JSON.stringify(spec),
      repo: "demo",
    });
    const view = (await res.json()) as { status: string; result: { run: { text: string } } };
    expect(view.status, JSON.stringify(view)).toBe("succeeded");
    writeFileSync(path.join(path.dirname(secret), "release"), "");
    expect((await waitJob(url, a.jobId)).status).toBe("succeeded");
    const results = JSON.parse(view.result.run.text) as ProbeResult[];
    const health = (await (await fetch(`${url}/health`)).json()) as Record<string, unknown>;
    return { results, health };
  } finally {
    await stop();
  }
}

const find = (e: Escape, prefix: string, needle = ""): ProbeResult => {
  const r = e.results.find((x) => x.attempt.startsWith(prefix) && x.attempt.includes(needle));
  if (!r) throw new Error(`no probe '${prefix} … ${needle}' in ${JSON.stringify(e.results)}`);
  return r;
};

describe.skipIf(!IS_ROOT)("agent sandbox: every escape is refused (root: makes the identities)", () => {
  let ids: TestIdentities;
  const hs: Harness[] = [];
  beforeAll(async () => {
    ids = makeIdentities(2);
    linkLocal = await bindLinkLocal();
  });
  afterAll(() =>
    cleanupAll(
      ...hs.map((h) => () => h.cleanup()),
      () => ids?.remove(),
      async () => {
        if (!linkLocal) return;
        await new Promise<void>((r) => linkLocal?.server.close(() => r()));
        execFileSync("ip", ["addr", "del", `${linkLocal.host}/32`, "dev", "lo"]);
      },
    ),
  );

  it("sandbox on: the agent reads no environ, store, repo or other job, writes none, reaches neither the executor nor 169.254/16", async () => {
    const h = sandboxHarness(ids.prefix);
    hs.push(h);
    const e = await tryEscapes(h);
    const refused = (r: ProbeResult) => expect(r.ok, JSON.stringify(r)).toBe(false);
    refused(find(e, "environ"));
    expect(find(e, "environ").detail).toBe("EACCES");
    refused(find(e, "read", "jobs.sqlite"));
    refused(find(e, "append", "jobs.sqlite"));
    refused(find(e, "read", "config"));
    refused(find(e, "append", "config"));
    refused(find(e, "create in", "hooks"));
    refused(find(e, "read", "secret.txt"));
    refused(find(e, "call", "no-such-job"));
    expect(find(e, "call").attempt).toContain("without a token");
    refused(find(e, "connect 169.254.169.254"));
    refused(find(e, `connect ${linkLocal?.host}`));
    expect(find(e, `connect ${linkLocal?.host}`).detail).toBe("EHOSTUNREACH");
    expect(e.health.sandbox, "metadata not blocked: is nftables installed? (.ci/run installs it)").toMatchObject({
      mode: "on",
      identities: ids.names,
      metadata: "blocked",
      executorPort: "token+firewall",
    });
  });

  it("control, AGENT_SANDBOX=off: the same agent succeeds at each attempt (so the test above can fail)", async () => {
    const h = harness({ CLAUDE_BIN: ESCAPE_CLI });
    hs.push(h);
    const e = await tryEscapes(h);
    for (const [prefix, needle] of [
      ["environ", ""],
      ["read", "jobs.sqlite"],
      ["append", "jobs.sqlite"],
      ["read", "config"],
      ["append", "config"],
      ["create in", "hooks"],
      ["read", "secret.txt"],
      ["call", "no-such-job"],
      [`connect ${linkLocal?.host}`, ""],
    ] as const) {
      expect(find(e, prefix, needle).ok, JSON.stringify(find(e, prefix, needle))).toBe(true);
    }
    expect(find(e, "environ").detail).toBe("holds EXECUTOR_SECRET");
    expect(find(e, "call").attempt).toContain("with the token read from an environ");
    expect(e.health.sandbox).toEqual({ mode: "off", reason: "AGENT_SANDBOX=off" });
  });
});
