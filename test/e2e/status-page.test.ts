/**
 * The status pages in a real browser (Debian's Chromium via playwright-core) against the real stack
 * started as processes (wrangler dev + executor + the pinned claude and codex CLIs against the mock
 * model API). Ladder `deepseek,human` with deepseek failing (500): an unpinned task ends needs_human;
 * `sonnet` answers slowly (one word a second) so a task is seen running; `opus` answers at once;
 * `codex` makes a real change with a shell tool call, which is delivered as delivery.test.ts does it:
 * to a bare repo served over git's smart HTTP (test/git-remote) and a pull request on the GitHub
 * stand-in (test/github-standin). UPDATE_STATUS_SCREENSHOTS=1 rewrites docs/status-*.png.
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { TaskState } from "@vault-mcp/contract";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type GitRemote, startGitRemote } from "../git-remote/server.ts";
import { type GitHubStandin, startGitHubStandin } from "../github-standin/server.ts";
import { type E2E, startE2E, waitState } from "./fixture.ts";
import { launchChromium, newContext, screenshot, signIn, tripwires } from "./status-browser.ts";

let e: E2E;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let url: string;
let needsHuman: string;
let remote: GitRemote;
let gh: GitHubStandin;
let secretsDir: string;
let credentials: string;

const TOKEN = "ghp_statusStandinToken0123456789abcdAB";
const GITHUB = "octo-org/app";
/** codex's shell tool call: hello.txt and 20,000 numbers, a diff of two pages (≤ 64 KiB each). */
const TOOL = "echo 'hello from the agent' > hello.txt && seq 1 20000 > numbers.txt";

function writeCredentials(token: string): void {
  writeFileSync(credentials, `${remote.credentialLine(token)}\n`);
  chmodSync(credentials, 0o600);
}

async function execute(body: Record<string, unknown>): Promise<string> {
  const r = await e.api("/api/execute", {
    method: "POST",
    body: JSON.stringify({ waitSeconds: 0, repo: "demo", ...body }),
  });
  expect(r.status, await r.clone().text()).toBe(200);
  return ((await r.json()) as { taskId: string }).taskId;
}

/** Rows seeded straight into D1: what the list filters over (`char()` keeps control bytes out of argv). */
const HOSTILE_ID = "t-20261101-0900-hostil";
const HOSTILE =
  "'<script>alert(1)</script><img src=x onerror=alert(2)> ' || char(27) || ']0;pwned' || char(7) || char(27) || '[31mred' || char(27) || '[0m ' || char(8238) || 'gnp.exe'";
function seed(): void {
  const rows: string[] = [];
  for (let i = 0; i < 6; i++) {
    const id = `t-20261101-08${String(i).padStart(2, "0")}-seed${String(i).padStart(2, "0")}`;
    const status = ["failed", "halted", "succeeded", "blocked", "succeeded", "failed"][i];
    rows.push(
      `('${id}', '${status}', '${i % 2 ? "bugfix" : "feature"}', 'Seeded task ${i}: rename the parser', '${i < 3 ? "demo" : "other"}', 'auto', 0.${i + 1}, ${i + 1}, ${1_793_000_000_000 + i * 60_000}, ${1_793_000_000_000 + i * 60_000})`,
    );
  }
  e.d1(
    `INSERT INTO tasks (id, status, kind, prompt, repo, profile, cost_usd, attempts, created_at, updated_at) VALUES ${rows.join(", ")}`,
  );
  e.d1(
    `INSERT INTO tasks (id, status, kind, prompt, repo, profile, error, result, created_at, updated_at) VALUES ('${HOSTILE_ID}', 'failed', 'general', 'Hostile ' || ${HOSTILE}, 'demo', 'auto', 'model said ' || ${HOSTILE}, 'flowchart LR' || char(10) || '  A["' || ${HOSTILE} || '"] --> B["#lt;img src=y onerror=alert(5)#gt;"]' || char(10) || char(10) || 'answer: ' || ${HOSTILE}, 1793000600000, 1793000600000)`,
  );
  e.d1(
    `INSERT INTO stages (id, task_id, attempt, profile, cli, model, status, error_kind, error_message, created_at) VALUES ('${HOSTILE_ID}:1', '${HOSTILE_ID}', 1, 'deepseek', 'claude', 'deepseek-chat', 'failed', 'api', ${HOSTILE}, 1793000600000)`,
  );
}

beforeAll(async () => {
  remote = await startGitRemote({ token: TOKEN });
  remote.createRepo("app", { "README.md": "# app\n" });
  gh = await startGitHubStandin({ token: TOKEN, branchSha: (_o, repo, branch) => remote.sha(repo, branch) });
  secretsDir = mkdtempSync(path.join(os.tmpdir(), "vault-e2e-status-creds-"));
  credentials = path.join(secretsDir, "git-credentials");
  writeCredentials(TOKEN);
  e = await startE2E(
    { deepseek: "500", sonnet: "slow", opus: "ok", codex: "tool" },
    { LADDER: "deepseek,human" },
    { GIT_CREDENTIALS: credentials, GITHUB_API_URL: gh.url },
    {},
    { toolCommand: TOOL },
  );
  url = e.stack.workerUrl;
  const repo = await e.api("/api/repos", {
    method: "POST",
    body: JSON.stringify({ name: "app", url: remote.repoUrl("app"), deliver: "pr", github: GITHUB }),
  });
  expect(repo.status, await repo.clone().text()).toBe(200);
  seed();
  needsHuman = await execute({ prompt: "Create hello.txt (will need a human)" });
  browser = await launchChromium();
  context = await newContext(browser);
  page = await context.newPage();
  await page.goto(`${url}/status`);
  expect(page.url()).toContain("/status/sign-in?next=%2Fstatus");
  await screenshot(page, "status-sign-in");
  expect(await signIn(page, url, e.stack.secrets.OWNER_SECRET)).toBe(303);
  expect(new URL(page.url()).pathname).toBe("/status");
  expect((await waitState(e, needsHuman)).status).toBe("needs_human");
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await e?.stop();
  await remote?.close();
  if (secretsDir) rmSync(secretsDir, { recursive: true, force: true });
  // Throws if any request the executor sent broke GitHub's description.
  await gh?.close();
}, 60_000);

/** A codex task on the registered repo, run to its end; its state. */
async function changeTask(prompt: string): Promise<{ id: string; state: TaskState }> {
  const id = await execute({ prompt, repo: "app", profile: "codex" });
  const state = TaskState.parse(await waitState(e, id, 90_000));
  expect(state.status, state.error).toBe("succeeded");
  return { id, state };
}

const pullsOf = (taskId: string) => gh.pulls().filter((p) => p.head === `vault/${taskId}`);

describe("status page in Chromium", () => {
  it("sign-in: the cookie is __Host-, HttpOnly, Secure, SameSite=Strict; a wrong secret is refused; 429 after the limit", async () => {
    const [cookie] = await context.cookies(url);
    expect(cookie).toMatchObject({
      name: "__Host-vault-status",
      httpOnly: true,
      secure: true,
      sameSite: "Strict",
      path: "/",
    });
    expect((cookie?.expires ?? 0) * 1000 - Date.now()).toBeLessThanOrEqual(4 * 3600 * 1000);
    const other = await newContext(browser);
    try {
      const p = await other.newPage();
      await p.goto(`${url}/status/sign-in`);
      const statuses: number[] = [];
      // The main sign-in took one of the 5 attempts this address has a minute.
      for (let i = 0; i < 5 && !statuses.includes(429); i++) statuses.push(await signIn(p, url, `wrong-${i}`));
      expect(statuses).toEqual([401, 401, 401, 401, 429]);
      expect(await p.textContent("#message")).toContain("Too many attempts");
      expect(await other.cookies(url)).toEqual([]);
      await p.goto(`${url}/status/spend`);
      expect(new URL(p.url()).pathname).toBe("/status/sign-in");
    } finally {
      await other.close();
    }
  });

  it("the list shows the seeded tasks and filters them by status, repo and words of the prompt", async () => {
    await page.goto(`${url}/status`);
    const ids = await page
      .locator("#tasks tbody tr")
      .evaluateAll((rows) => rows.map((r) => r.getAttribute("data-task")));
    for (let i = 0; i < 6; i++)
      expect(ids).toContain(`t-20261101-08${String(i).padStart(2, "0")}-seed${String(i).padStart(2, "0")}`);
    expect(ids).toContain(needsHuman);
    await screenshot(page, "status-tasks");
    await page.check('input[name="status"][value="needs_human"]');
    await Promise.all([page.waitForURL(/status=needs_human/), page.click('#filters button[type="submit"]')]);
    const filtered = await page
      .locator("#tasks tbody tr")
      .evaluateAll((rows) => rows.map((r) => r.getAttribute("data-status")));
    expect(filtered.length).toBeGreaterThan(0);
    expect(new Set(filtered)).toEqual(new Set(["needs_human"]));
    await page.goto(`${url}/status?repo=other&q=rename%20the%20PARSER`);
    const other = await page
      .locator("#tasks tbody tr")
      .evaluateAll((rows) => rows.map((r) => r.getAttribute("data-task")));
    expect(other.sort()).toEqual(["t-20261101-0803-seed03", "t-20261101-0804-seed04", "t-20261101-0805-seed05"]);
  });

  it("a running task turns succeeded on screen without a reload, and its Mermaid renders to an <svg>", async () => {
    const id = await execute({ prompt: "Create hello.txt slowly", profile: "sonnet" });
    const navigations: string[] = [];
    const onNav = (f: { url(): string; parentFrame(): unknown }) => {
      if (f.parentFrame() === null) navigations.push(f.url());
    };
    await page.goto(`${url}/status/tasks/${id}`);
    page.on("framenavigated", onNav);
    try {
      expect(["init", "running"]).toContain(await page.textContent("#task-status"));
      expect(await page.getAttribute("#live", "data-poll")).toBe(`/status/tasks/${id}/live`);
      await page.waitForFunction(() => document.getElementById("task-status")?.textContent === "succeeded", null, {
        timeout: 60_000,
        polling: 200,
      });
      expect(navigations).toEqual([]);
      expect(await page.getAttribute("#live", "data-poll")).toBeNull();
      const frame = page.frameLocator("#diagram");
      await frame.locator("#out svg").waitFor({ timeout: 20_000 });
      expect(await frame.locator("#out svg").count()).toBe(1);
      expect(await frame.locator("body").getAttribute("data-rendered")).toBe("svg");
      await page.waitForFunction(() => Number(document.querySelector("iframe.diagram")?.getAttribute("height")) > 20);
    } finally {
      page.off("framenavigated", onNav);
    }
  });

  it("agent and model output with <script> and <img onerror> appears as text and runs nothing", async () => {
    const p = await context.newPage();
    const t = tripwires(p, url);
    try {
      await p.goto(`${url}/status/tasks/${HOSTILE_ID}`);
      await p.frameLocator("#diagram").locator("#out svg").waitFor({ timeout: 20_000 });
      await p.waitForTimeout(500);
      for (const sel of ["#prompt", "#task-error", "#result-text", ".stage-message"]) {
        const text = (await p.textContent(sel)) ?? "";
        expect(text, sel).toContain("<script>alert(1)</script><img src=x onerror=alert(2)>");
        // biome-ignore lint/suspicious/noControlCharactersInRegex: the test looks for control characters
        expect(text, sel).not.toMatch(/[\u001b\u0007\u202e]/);
        expect(text, sel).toContain("red ");
        expect(text, sel).toContain("gnp.exe");
        expect(text, sel).not.toContain("pwned");
      }
      expect(await p.locator("img").count()).toBe(0);
      expect(await p.locator("script:not([src])").count()).toBe(0);
      const label = (await p.frameLocator("#diagram").locator("#out svg").textContent()) ?? "";
      expect(label).toContain("alert(1)");
      expect(await p.frameLocator("#diagram").locator("img, script:not([src]), foreignObject").count()).toBe(0);
      await p.goto(`${url}/status?q=Hostile`);
      expect(await p.textContent("#tasks tbody")).toContain("<script>alert(1)</script>");
      expect(t.dialogs).toEqual([]);
      expect(t.consoleErrors).toEqual([]);
      expect(t.foreign).toEqual([]);
      expect(t.strayPaths).toEqual([]);
    } finally {
      await p.close();
    }
  });

  it("the decision form answers a needs_human task and the workflow goes on to succeed", async () => {
    await page.goto(`${url}/status/tasks/${needsHuman}`);
    await page.fill("#instructions", "Use the existing parser.");
    await page.selectOption("#retry-profile", "opus");
    await page.frameLocator("#diagram").locator("#out svg").waitFor({ timeout: 20_000 });
    await screenshot(page, "status-decide");
    await Promise.all([page.waitForURL(/done=decided/), page.click("#retry")]);
    expect(await page.textContent("#notice")).toContain("Your decision was sent");
    await page.waitForFunction(() => document.getElementById("task-status")?.textContent === "succeeded", null, {
      timeout: 60_000,
      polling: 200,
    });
    const detail = (await (await e.api(`/api/tasks/${needsHuman}`)).json()) as {
      decisions: { kind: string; decision: string; rationale: string; actor: string }[];
      stages: { profile: string; status: string }[];
    };
    expect(detail.decisions.at(-1)).toMatchObject({
      kind: "human",
      decision: "retry",
      rationale: "Use the existing parser.",
      actor: "status page",
    });
    expect(detail.stages.at(-1)).toMatchObject({ profile: "opus", status: "succeeded" });
  });

  it("replay creates a new task that appears in the list", async () => {
    const original = "t-20261101-0800-seed00";
    await page.goto(`${url}/status/tasks/${original}`);
    await page.selectOption('#replay-form select[name="fromTier"]', "opus");
    await Promise.all([page.waitForURL(/done=replayed/), page.click("#replay")]);
    const replayId = /\/status\/tasks\/(t-[0-9a-z-]+)\?/.exec(page.url())?.[1] ?? "";
    expect(replayId).not.toBe(original);
    expect(await page.textContent(".meta a")).toBe(original);
    await page.goto(`${url}/status`);
    expect(await page.locator(`#tasks tr[data-task="${replayId}"]`).count()).toBe(1);
    expect((await waitState(e, replayId)).status).toBe("succeeded");
  });

  it("a cross-site form POST, and one without the CSRF token, is refused and changes nothing", async () => {
    // Another port on 127.0.0.1 is the same *site*, so SameSite=Strict still sends the cookie:
    // the Origin check and the CSRF token are what refuse it.
    const evil: Server = createServer((_req, res) => {
      res
        .writeHead(200, { "content-type": "text/html" })
        .end(
          `<form id="f" method="post" action="${url}/status/tasks/t-20261101-0801-seed01/replay"><input name="fromTier" value="opus"></form><script>document.getElementById("f").submit()</script>`,
        );
    });
    await new Promise<void>((resolve) => evil.listen(0, "127.0.0.1", resolve));
    const p = await context.newPage();
    try {
      const answer = p.waitForResponse((r) => r.url().endsWith("/replay"));
      await p.goto(`http://127.0.0.1:${(evil.address() as AddressInfo).port}/`);
      const res = await answer;
      expect(res.status()).toBe(403);
      expect(await res.request().headerValue("cookie")).toContain("__Host-vault-status=");
      await p.goto(`${url}/status`);
      const sameOrigin = await p.evaluate(async () => {
        const r = await fetch("/status/tasks/t-20261101-0801-seed01/replay", {
          method: "POST",
          body: new URLSearchParams({ fromTier: "opus" }),
        });
        return r.status;
      });
      expect(sameOrigin).toBe(403);
      const replays = (await (await e.api("/api/tasks?limit=500")).json()) as { tasks: { replayOf: string | null }[] };
      expect(replays.tasks.filter((t) => t.replayOf === "t-20261101-0801-seed01")).toEqual([]);
    } finally {
      await p.close();
      evil.closeAllConnections();
      await new Promise<void>((resolve) => evil.close(() => resolve()));
    }
  });

  it("a delivered task: its PR link in the list, its change, and its diff with the diffstat, page by page", async () => {
    const { id, state } = await changeTask("Create hello.txt and numbers.txt\nThen say so.");
    expect(state.flags).not.toContain("delivery_failed");
    const pulls = pullsOf(id);
    expect(pulls).toHaveLength(1);
    const prUrl = `${gh.url}/${GITHUB}/pull/${pulls[0]?.number}`;
    expect(state.change?.prUrl).toBe(prUrl);

    await page.goto(`${url}/status?repo=app`);
    const row = page.locator(`#tasks tr[data-task="${id}"]`);
    expect(await row.locator("a.pr-link").getAttribute("href")).toBe(prUrl);
    await Promise.all([page.waitForURL(`${url}/status/tasks/${id}`), row.locator("td.what a").click()]);
    expect(await page.getAttribute("#live", "data-poll")).toBeNull();
    expect(await page.getAttribute("#delivery", "data-delivery")).toBe("delivered");
    expect(await page.textContent("#delivery-branch")).toBe(`vault/${id}`);
    expect(await page.textContent("#delivery")).toContain("2 files +20001 −0");
    expect(await page.getAttribute("#pr-link", "href")).toBe(prUrl);
    expect(await page.textContent("#diff h2")).toBe("Diff 2 files +20001 −0");
    expect(await page.textContent("#diff-files")).toMatch(/hello\.txt \+1 −0\s*numbers\.txt \+20000 −0/);
    const first = (await page.textContent("#diff-text")) ?? "";
    expect(first).toMatch(/^diff --git a\/hello\.txt b\/hello\.txt\n/);
    expect(first).toContain("+hello from the agent\n");
    expect(Buffer.byteLength(first)).toBeLessThanOrEqual(64 * 1024);
    expect(first).not.toContain("+20000\n");
    await page.frameLocator("#diagram").locator("#out svg").waitFor({ timeout: 20_000 });
    await page.waitForFunction(() => Number(document.querySelector("iframe.diagram")?.getAttribute("height")) > 20);
    await screenshot(page, "status-task");

    await Promise.all([page.waitForURL(/\/diff\?side=a&cursor=.+&page=2$/), page.click("#diff-next")]);
    const second = (await page.textContent("#diff-text")) ?? "";
    expect(second).toMatch(/\+20000\n$/);
    expect(await page.locator("#diff-next").count()).toBe(0);
    // The two pages are the remote branch's whole diff: the second starts where the first ended.
    const numbers = Array.from({ length: 20_000 }, (_, i) => `+${i + 1}\n`).join("");
    expect((first + second).slice((first + second).indexOf("+1\n+2\n"))).toBe(numbers);
    expect(remote.show("app", `vault/${id}`, "hello.txt")).toBe("hello from the agent\n");
  }, 120_000);

  it("after a failed delivery, deliver again from the page: the task's delivery becomes delivered", async () => {
    writeCredentials("not-the-token");
    const { id, state } = await changeTask("Create hello.txt");
    expect(state.flags).toContain("delivery_failed");
    expect(pullsOf(id)).toEqual([]);
    await page.goto(`${url}/status/tasks/${id}`);
    expect(await page.getAttribute("#delivery", "data-delivery")).toBe("failed");
    expect(await page.textContent("#delivery-error")).toContain(`vault deliver ${id}`);
    expect(await page.textContent("#diff h2")).toBe("Diff 2 files +20001 −0");
    await page.frameLocator("#diagram").locator("#out svg").waitFor({ timeout: 20_000 });
    await screenshot(page, "status-deliver-again");

    writeCredentials(TOKEN);
    await Promise.all([page.waitForURL(/done=delivered/, { timeout: 60_000 }), page.click("#deliver-again")]);
    expect(await page.textContent("#notice")).toContain("Delivered");
    expect(await page.getAttribute("#delivery", "data-delivery")).toBe("delivered");
    expect(await page.locator("#deliver-form").count()).toBe(0);
    const pulls = pullsOf(id);
    expect(pulls).toHaveLength(1);
    expect(await page.getAttribute("#pr-link", "href")).toBe(`${gh.url}/${GITHUB}/pull/${pulls[0]?.number}`);
    const after = TaskState.parse(await (await e.api(`/api/tasks/${id}/state`)).json());
    expect(after.change?.delivery).toBe("delivered");
    expect(after.flags).not.toContain("delivery_failed");
    expect(remote.show("app", `vault/${id}`, "hello.txt")).toBe("hello from the agent\n");
  }, 120_000);

  it("spend and executors read at a glance", async () => {
    await page.goto(`${url}/status/spend`);
    expect(await page.locator("#today svg.meter").count()).toBe(1);
    expect(await page.locator("#profiles tbody tr").count()).toBeGreaterThan(0);
    await screenshot(page, "status-spend");
    await page.goto(`${url}/status/executors`);
    expect(await page.textContent("#executors")).toContain("ready");
    await screenshot(page, "status-executors");
  });
});
