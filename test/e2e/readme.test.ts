/**
 * Every command the README shows, run the way a reader would: from the repo, with only the system's
 * Node (20 on this machine) and npm on PATH, against a real stack. A command that cannot run here is
 * listed in SKIPPED with why; a README command that is neither run nor skipped fails the test, so a
 * new command cannot go untested.
 */
import { spawn, spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT } from "../../scripts/stack.ts";
import { type GitRemote, startGitRemote } from "../git-remote/server.ts";
import { type GitHubStandin, startGitHubStandin } from "../github-standin/server.ts";
import { type E2E, startE2E, waitState } from "./fixture.ts";
import { npmStart, systemEnv } from "./npm-start.ts";

/** README lines that do not run here, and why. */
const SKIPPED: readonly [RegExp, string][] = [
  [/^npm test\b/, "the suite this test is part of"],
  [
    /^npx wrangler (d1 create|kv namespace create|d1 migrations apply DB --remote|secret put|deploy)\b/,
    "needs a Cloudflare account (npm run build, the offline dry run, is tested in build.test.ts)",
  ],
  [/^claude mcp add\b/, "run with the pinned claude CLI by claude-connect.test.ts"],
  [
    /^#!\/usr\/bin\/env bash|^set -euo pipefail|^export VAULT_URL=https|^npx vault replay --failed --since 24h --concurrency 2 --json > replays\.json|^ {2}echo |^ {2}jq |^ {9}\||^ {2}exit 1|^}$/,
    "the nightly script's template for a deployed Worker (its vault commands run above)",
  ],
];

/** Shell lines of the README's bash blocks, comments dropped, continuation lines joined. */
function readmeCommands(): string[] {
  const text = readFileSync(path.join(ROOT, "README.md"), "utf8");
  const out: string[] = [];
  for (const block of text.matchAll(/```bash\n([\s\S]*?)```/g)) {
    const joined = (block[1] ?? "").replace(/\\\n\s*/g, "");
    for (const raw of joined.split("\n")) {
      const line = raw.replace(/\s+#\s.*$/, "").trimEnd();
      if (line.trim()) out.push(line);
    }
  }
  return out;
}

/** The README's JSON examples of an execute body. */
function executeExamples(): unknown[] {
  const text = readFileSync(path.join(ROOT, "README.md"), "utf8");
  const block = /```jsonc\n([\s\S]*?)```/.exec(text)?.[1] ?? "";
  return block
    .split("\n")
    .map((l) => l.replace(/\s*\/\/.*$/, "").trim())
    .filter(Boolean)
    .map((l) => JSON.parse(l) as unknown);
}

let e: E2E;
const ids: Record<"failed" | "needsHuman" | "waiting" | "halted" | "any" | "delivered", string> = {
  failed: "",
  needsHuman: "",
  waiting: "",
  halted: "",
  any: "",
  delivered: "",
};
/** The README's github.com repo, played by a git remote over smart HTTP and the GitHub stand-in. */
const TOKEN = "ghp_readmeStandinToken0123456789abcdef";
let remote: GitRemote;
let gh: GitHubStandin;
let secrets: string;

async function executeBody(body: Record<string, unknown>): Promise<string> {
  const r = await e.api("/api/execute", { method: "POST", body: JSON.stringify({ waitSeconds: 0, ...body }) });
  expect(r.status, await r.clone().text()).toBe(200);
  return ((await r.json()) as { taskId: string }).taskId;
}

beforeAll(async () => {
  remote = await startGitRemote({ token: TOKEN });
  remote.createRepo("app", { "README.md": "# app\n" });
  gh = await startGitHubStandin({ token: TOKEN, branchSha: (_o, repo, branch) => remote.sha(repo, branch) });
  secrets = mkdtempSync(path.join(os.tmpdir(), "vault-readme-creds-"));
  const credentials = path.join(secrets, "git-credentials");
  writeFileSync(credentials, `${remote.credentialLine()}\n`);
  chmodSync(credentials, 0o600);
  // sonnet makes a change (a real shell tool call writes hello.txt), so there is something to deliver.
  e = await startE2E(
    { deepseek: "500", "gemini-flash": "500", sonnet: "tool" },
    { LADDER: "deepseek,human" },
    { GIT_CREDENTIALS: credentials, GITHUB_API_URL: gh.url },
  );
  const added = await e.api("/api/repos", {
    method: "POST",
    body: JSON.stringify({ name: "app", url: remote.repoUrl("app"), deliver: "pr", github: "octo-org/app" }),
  });
  expect(added.status, await added.clone().text()).toBe(200);
  ids.delivered = await executeBody({ prompt: "Create hello.txt", repo: "app", executor: "claude" });
  ids.failed = await executeBody({ prompt: "Create hello.txt", repo: "demo", executor: "gemini" });
  ids.needsHuman = await executeBody({ prompt: "Create hello.txt", repo: "demo" });

  // Two tasks halted at their $5 cap, still waiting for a raise: one for --raise, one for a replay
  // that lifts the chain's cap with --budget.
  for (const key of ["halted", "waiting"] as const) {
    const init = await e.api("/api/tasks", {
      method: "POST",
      body: JSON.stringify({ prompt: "Create hello.txt", repo: "demo", profile: "sonnet" }),
    });
    ids[key] = ((await init.json()) as { id: string }).id;
    e.d1(`UPDATE tasks SET cost_usd = 5 WHERE id = '${ids[key]}'`);
    await executeBody({ taskId: ids[key] });
  }
  ids.any = await executeBody({ prompt: "Create hello.txt", repo: "demo", profile: "sonnet" });
  for (const [id, status] of [
    [ids.failed, "failed"],
    [ids.needsHuman, "needs_human"],
    [ids.waiting, "halted"],
    [ids.halted, "halted"],
    [ids.any, "succeeded"],
    [ids.delivered, "succeeded"],
  ] as const)
    expect((await waitState(e, id)).status).toBe(status);
}, 180_000);

afterAll(async () => {
  await e?.stop();
  await remote?.close();
  await gh?.close();
  rmSync(secrets, { recursive: true, force: true });
}, 60_000);

/** The README's placeholders, filled for this stack. */
function fill(line: string): string {
  const port = new URL(e.stack.workerUrl).port;
  return line
    .replaceAll("127.0.0.1:28787", `127.0.0.1:${port}`)
    .replaceAll("--port 28787", `--port ${port}`)
    .replaceAll("<task id>", ids.any)
    .replaceAll("$TOKEN", e.token)
    .replace("https://github.com/octo-org/app.git", `${remote.repoUrl("app")} --github octo-org/app`)
    .replace(/vault (tasks diff|deliver) t-20261124-1530-ab12cd/, (_m, cmd: string) => `vault ${cmd} ${ids.delivered}`)
    .replace(
      /vault (tasks show|replay) t-20261124-1530-ab12cd/,
      (_m, cmd: string) => `vault ${cmd} ${cmd === "replay" ? ids.failed : ids.any}`,
    )
    .replace(/vault replay t-… --include-waiting/, `vault replay ${ids.waiting} --include-waiting`)
    .replace(/--raise t-…/, `--raise ${ids.halted}`)
    .replace(/vault decide t-…/, `vault decide ${ids.needsHuman}`);
}

/**
 * Runs one README line through bash from the repo, with only system Node and npm on PATH. Async: the
 * mock model API lives in this process, and a blocked event loop would leave the agent CLIs hanging.
 */
function sh(line: string): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn("bash", ["-c", line], {
      cwd: ROOT,
      env: systemEnv({ VAULT_URL: e.stack.workerUrl, VAULT_AUTH_TOKEN: e.token }),
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      err += d.toString();
    });
    child.on("close", (code) => resolve({ code, out, err }));
  });
}

describe("README commands", () => {
  it("the commands start from the machine's own node, not the repo's (the reader's situation)", () => {
    const which = spawnSync("bash", ["-c", "command -v node"], { env: systemEnv({}), encoding: "utf8" }).stdout.trim();
    expect(which).not.toContain("node_modules");
  });

  it("every bash line is run below or skipped with a reason", () => {
    const lines = readmeCommands();
    expect(lines.length).toBeGreaterThan(20);
    const unknown = lines.filter((l) => !SKIPPED.some(([re]) => re.test(l)) && !RUNNERS.some(([re]) => re.test(l)));
    expect(unknown).toEqual([]);
  });

  const RUNNERS: readonly [RegExp, (line: string) => Promise<void> | void][] = [
    [
      /^npm ci && npm run clis$/,
      async () => {
        // `npm ci` is what CI itself ran; the CLI install is idempotent and must find them in place.
        const r = await sh("npm run clis");
        expect(r.code, r.err).toBe(0);
      },
    ],
    [/^npm start$/, async () => await npmStartPrintsHowToConnect()],
    [
      /^npm run inspect/,
      async (line) => {
        const r = await sh(line);
        expect(r.code, r.err).toBe(0);
        expect(r.out).toContain(line.includes("health") ? "d1" : '"execute"');
      },
    ],
    [
      /^npx vault /,
      async (line) => {
        const r = await sh(fill(line));
        expect(r.code, `${fill(line)}\n${r.out}\n${r.err}`).toBe(0);
      },
    ],
    [
      /^npx wrangler workflows instances describe /,
      async (line) => {
        const r = await sh(fill(line));
        expect(r.code, r.err).toBe(0);
        expect(r.out).toContain(ids.any);
      },
    ],
    [
      /^curl -X POST \S+\/api\/execute /,
      async (line) => {
        const r = await sh(`${fill(line)} --fail --silent --show-error`);
        expect(r.code, r.err).toBe(0);
        const out = JSON.parse(r.out) as { taskId: string; status: string };
        expect(out.taskId).toMatch(/^t-/);
        expect((await waitState(e, out.taskId, 90_000)).status).toBe("succeeded");
      },
    ],
    [
      /^curl /,
      async (line) => {
        const r = await sh(`${fill(line)} --fail --silent --show-error`);
        expect(r.code, r.err).toBe(0);
        expect(JSON.parse(r.out)).toMatchObject({ task: { id: ids.any } });
      },
    ],
  ];

  for (const line of readmeCommands()) {
    if (SKIPPED.some(([re]) => re.test(line))) continue;
    const runner = RUNNERS.find(([re]) => re.test(line));
    if (runner) it(`runs: ${line}`, () => runner[1](line), 180_000);
  }

  it("the README's execute bodies are accepted as they are", async () => {
    const bodies = executeExamples();
    expect(bodies.length).toBeGreaterThanOrEqual(4);
    for (const body of bodies) {
      const r = await e.api("/api/execute", {
        method: "POST",
        body: JSON.stringify({ ...(body as object), waitSeconds: 0 }),
      });
      expect(r.status, `${JSON.stringify(body)} → ${await r.clone().text()}`).toBe(200);
    }
  });
});

/** `npm start` on its own ports: it comes up and prints the MCP URL, the token line and readiness. */
async function npmStartPrintsHowToConnect(): Promise<void> {
  const s = await npmStart();
  try {
    const worker = s.ports[0];
    const out = s.output();
    expect(out).toContain("vault-mcp is running");
    expect(out).toContain(`MCP        http://127.0.0.1:${worker}/mcp`);
    expect(out).toMatch(
      new RegExp(
        // The token itself on a terminal; into a pipe (as here), the shell reads it from .dev.vars.
        `claude mcp add --transport http vault http://127\\.0\\.0\\.1:${worker}/mcp --header "Authorization: Bearer (\\S+|\\$\\(sed -n '[^']+' \\S+/\\.dev\\.vars\\))"`,
      ),
    );
    const health = await fetch(`http://127.0.0.1:${worker}/health`);
    expect([200, 503]).toContain(health.status);
  } finally {
    await s.stop();
  }
}
