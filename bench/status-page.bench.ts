/**
 * The status pages at 10,000 tasks and 50,000 stages (seeded in bulk into the local D1 of a real
 * stack, wrangler dev + executor as `npm start` runs them): how long the list's first page and a task
 * page take to show their rows in Chromium (navigation start → the first row painted, from the
 * Element Timing API), how long their D1 reads take (the Server-Timing the Worker sends), and what a
 * page without the diagram weighs compressed (HTML + CSS + JS, gzip). One more task is run for real
 * (codex's shell tool call through the mock model API writes 40,000 numbers): its page shows a full
 * first diff page (64 KiB of `+N` lines, the most markup a page can carry) read from the executor.
 */
import { gzipSync } from "node:zlib";
import type { Page } from "playwright-core";
import { startE2E, waitState } from "../test/e2e/fixture.ts";
import { launchChromium, newContext, signIn as signInPage } from "../test/e2e/status-browser.ts";
import { percentile } from "./stats.ts";
import type { BenchReport } from "./types.ts";

const TASKS = 10_000;
const STAGES_PER_TASK = 5;
const HTTP_RUNS = 50;
const BROWSER_RUNS = 20;
const DAY_MS = 86_400_000;
/** A diff whose first page is full: 40,000 lines of `+N`, about 230 KB in all. */
const TOOL = "seq 1 40000 > numbers.txt";

/** Everything in SQL (recursive CTEs), so seeding 60,000 rows is one wrangler call, not 60,000 binds. */
function seedSql(now: number): string {
  const step = Math.floor((60 * DAY_MS) / TASKS);
  return `
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ${TASKS - 1})
INSERT INTO tasks (id, status, kind, prompt, repo, profile, climb, cost_usd, attempts, flags, result, created_at, updated_at)
SELECT printf('t-%s-%06d', strftime('%Y%m%d-%H%M', (${now} - i * ${step}) / 1000, 'unixepoch'), i),
  CASE i % 10 WHEN 0 THEN 'failed' WHEN 1 THEN 'halted' WHEN 2 THEN 'needs_human' WHEN 3 THEN 'blocked' ELSE 'succeeded' END,
  CASE i % 4 WHEN 0 THEN 'bugfix' WHEN 1 THEN 'feature' WHEN 2 THEN 'refactor' ELSE 'general' END,
  'Bench task ' || i || ': ' || CASE WHEN i % 100 = 0 THEN hex(zeroblob(10000))
    ELSE 'add a --verbose flag to the CLI, document it in the README and keep the tests green' END,
  CASE i % 5 WHEN 0 THEN 'api' WHEN 1 THEN 'web' ELSE 'demo' END,
  CASE i % 3 WHEN 0 THEN 'auto' WHEN 1 THEN 'sonnet' ELSE 'opus' END,
  1, (i % 50) * 0.013, ${STAGES_PER_TASK}, '[]',
  'flowchart LR' || char(10) || '  A["opus claude-opus-5-5"] --> B{"ok"} --> C["2 files +10 -3"]',
  ${now} - i * ${step}, ${now} - i * ${step} + 60000
FROM n;
INSERT INTO stages (id, task_id, attempt, task_kind, profile, cli, model, status, cost_usd, tokens_in, tokens_out, latency_ms, error_kind, error_message, created_at)
SELECT t.id || ':' || a.k, t.id, a.k, t.kind,
  CASE a.k WHEN 1 THEN 'deepseek' WHEN 2 THEN 'gemini-flash' WHEN 3 THEN 'gemini-pro' WHEN 4 THEN 'sonnet' ELSE 'opus' END,
  'claude', 'model-' || a.k, CASE WHEN a.k = ${STAGES_PER_TASK} THEN 'succeeded' ELSE 'failed' END,
  0.002 * a.k, 1200 * a.k, 34 * a.k, 4000 * a.k,
  CASE WHEN a.k = ${STAGES_PER_TASK} THEN NULL ELSE 'api' END,
  CASE WHEN a.k = ${STAGES_PER_TASK} THEN NULL ELSE 'API Error: 500 internal server error' END,
  t.created_at + a.k * 20000
FROM tasks t CROSS JOIN (SELECT 1 AS k UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 UNION ALL SELECT 5) a
WHERE t.prompt LIKE 'Bench task %';
INSERT OR REPLACE INTO model_stats (profile, task_kind, runs, successes, failures, total_cost_usd, total_latency_ms, updated_at)
SELECT p.name, k.kind, 2500, CASE p.name WHEN 'opus' THEN 2500 ELSE 0 END, CASE p.name WHEN 'opus' THEN 0 ELSE 2500 END, 12.5, 1000000, ${now}
FROM (SELECT 'deepseek' AS name UNION ALL SELECT 'gemini-flash' UNION ALL SELECT 'gemini-pro' UNION ALL SELECT 'sonnet' UNION ALL SELECT 'opus') p
CROSS JOIN (SELECT 'bugfix' AS kind UNION ALL SELECT 'feature' UNION ALL SELECT 'refactor' UNION ALL SELECT 'general') k;`;
}

/** Navigation start → the first element marked `elementtiming=<name>` painted (Element Timing API). */
async function rowsPaintedMs(page: Page, url: string, element: string): Promise<number> {
  await page.goto(url, { waitUntil: "load" });
  return page.evaluate(
    (name) =>
      new Promise<number>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no element timing for ${name}`)), 5000);
        new PerformanceObserver((list) => {
          const hit = (list.getEntries() as (PerformanceEntry & { identifier: string; renderTime: number })[]).find(
            (en) => en.identifier === name,
          );
          if (hit) {
            clearTimeout(timer);
            resolve(hit.renderTime);
          }
        }).observe({ type: "element", buffered: true });
      }),
    element,
  );
}

export async function run(): Promise<BenchReport> {
  const e = await startE2E({ codex: "tool" }, {}, {}, {}, { toolCommand: TOOL });
  const url = e.stack.workerUrl;
  const browser = await launchChromium();
  try {
    const now = Date.now();
    const seedStart = performance.now();
    e.d1(seedSql(now));
    const seedMs = performance.now() - seedStart;
    const signIn = await fetch(`${url}/status/sign-in`, {
      method: "POST",
      redirect: "manual",
      headers: { origin: url, "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ secret: e.stack.secrets.OWNER_SECRET, next: "/status" }),
    });
    const cookie = (signIn.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
    if (!cookie.startsWith("__Host-vault-status=")) throw new Error(`sign-in failed: ${signIn.status}`);

    const started = await fetch(`${url}/api/execute`, {
      method: "POST",
      headers: { authorization: `Bearer ${e.token}`, "content-type": "application/json" },
      body: JSON.stringify({ prompt: "Write numbers.txt", repo: "demo", profile: "codex", waitSeconds: 0 }),
    });
    const diffTaskId = ((await started.json()) as { taskId: string }).taskId;
    const ran = await waitState(e, diffTaskId, 120_000);
    if (ran.status !== "succeeded") throw new Error(`the diff task ended ${ran.status}: ${ran.error ?? ""}`);

    /** p50 of the Worker's D1 time, its executor time and of the whole answer, over HTTP_RUNS requests. */
    const measure = async (path: string) => {
      const db: number[] = [];
      const exec: number[] = [];
      const total: number[] = [];
      let body = "";
      for (let i = 0; i < HTTP_RUNS + 3; i++) {
        const t0 = performance.now();
        const res = await fetch(`${url}${path}`, { headers: { cookie } });
        body = await res.text();
        if (res.status !== 200) throw new Error(`${path} answered ${res.status}`);
        if (i < 3) continue; // warm-up
        total.push(performance.now() - t0);
        const timing = res.headers.get("server-timing") ?? "";
        db.push(Number(/db;dur=([\d.]+)/.exec(timing)?.[1] ?? Number.NaN));
        exec.push(Number(/exec;dur=([\d.]+)/.exec(timing)?.[1] ?? 0));
      }
      return { db: percentile(db, 50), exec: percentile(exec, 50), total: percentile(total, 50), body };
    };
    const list = await measure("/status");
    // A task with five attempts, a few rows down the list.
    const taskId = [...list.body.matchAll(/data-task="([^"]+)"/g)][5]?.[1] ?? "";
    const task = await measure(`/status/tasks/${taskId}`);
    const withDiff = await measure(`/status/tasks/${diffTaskId}`);
    // The page's diff text, without its markup (`+N` lines carry no entity).
    const diffBytes = Buffer.byteLength(
      (/<pre class="diff-text" id="diff-text">([\s\S]*?)<\/pre>/.exec(withDiff.body)?.[1] ?? "").replace(
        /<[^>]+>/g,
        "",
      ),
    );
    if (!withDiff.body.includes('id="diff-next"') || diffBytes < 60_000)
      throw new Error(`the diff task's page shows no full diff page (${diffBytes} bytes)`);
    const filtered = await measure("/status?status=needs_human&repo=api");
    const search = await measure("/status?q=verbose%20flag");
    // Words no prompt has: the LIKE reads every prompt (1 in 100 is 20 KB) and finds nothing.
    const miss = await measure("/status?q=no%20such%20words");
    // Page 21 (rows 1,001–1,050): the keyset costs what page 1 does.
    let deep = "/status";
    for (let i = 0; i < 20; i++) {
      const html = await (await fetch(`${url}${deep}`, { headers: { cookie } })).text();
      deep = (/href="([^"]+)" id="next-page"/.exec(html)?.[1] ?? "").replace(/&amp;/g, "&");
    }
    const page21 = await measure(deep);

    const asset = async (p: string) => (await fetch(`${url}${p}`)).text();
    const statics = (await Promise.all(["/status/assets/status.css", "/status/assets/status.js"].map(asset))).join("");
    const gz = (s: string) => gzipSync(s).length / 1024;
    const listKb = gz(list.body) + gz(statics);
    const taskKb = gz(task.body) + gz(statics);
    const diffKb = gz(withDiff.body) + gz(statics);

    const context = await newContext(browser);
    const page = await context.newPage();
    if ((await signInPage(page, url, e.stack.secrets.OWNER_SECRET)) !== 303) throw new Error("browser sign-in failed");
    const listPaint: number[] = [];
    const taskPaint: number[] = [];
    const diffPaint: number[] = [];
    for (let i = 0; i < BROWSER_RUNS + 2; i++) {
      const a = await rowsPaintedMs(page, `${url}/status`, "task-row");
      const b = await rowsPaintedMs(page, `${url}/status/tasks/${taskId}`, "attempt-row");
      const c = await rowsPaintedMs(page, `${url}/status/tasks/${diffTaskId}`, "attempt-row");
      if (i < 2) continue;
      listPaint.push(a);
      taskPaint.push(b);
      diffPaint.push(c);
    }
    const fig = (name: string, value: number, unit: string, goal?: [string, boolean]) => ({
      name,
      value: Number(value.toFixed(1)),
      unit,
      ...(goal ? { goal: goal[0], met: goal[1] } : {}),
    });
    return {
      title: "Status pages at 10,000 tasks / 50,000 stages",
      runs: `${HTTP_RUNS} requests and ${BROWSER_RUNS} Chromium navigations per page, wrangler dev (local D1), seeded in ${(seedMs / 1000).toFixed(1)} s`,
      figures: [
        fig("list, first page: rows painted p50", percentile(listPaint, 50), "ms", [
          "≤ 1000 ms",
          percentile(listPaint, 50) <= 1000,
        ]),
        fig("task page: attempts painted p50", percentile(taskPaint, 50), "ms", [
          "≤ 1000 ms",
          percentile(taskPaint, 50) <= 1000,
        ]),
        fig("task page with a full diff page: attempts painted p50", percentile(diffPaint, 50), "ms", [
          "≤ 1000 ms",
          percentile(diffPaint, 50) <= 1000,
        ]),
        fig("list, first page: rows painted max", Math.max(...listPaint), "ms"),
        fig("task page: attempts painted max", Math.max(...taskPaint), "ms"),
        fig("list, first page: D1 reads p50", list.db, "ms", ["≤ 20 ms", list.db <= 20]),
        fig("task page: D1 reads p50", task.db, "ms", ["≤ 20 ms", task.db <= 20]),
        fig("list, status + repo filter: D1 reads p50", filtered.db, "ms"),
        fig("list, prompt search: D1 reads p50", search.db, "ms"),
        fig("list, prompt search without a match (a full scan): D1 reads p50", miss.db, "ms"),
        fig("list, page 21 (keyset): D1 reads p50", page21.db, "ms"),
        fig("list, first page: whole answer p50", list.total, "ms"),
        fig("task page: whole answer p50", task.total, "ms"),
        fig("task page with a full diff page: D1 reads p50", withDiff.db, "ms", ["≤ 20 ms", withDiff.db <= 20]),
        fig("task page with a full diff page: the executor's diff p50", withDiff.exec, "ms"),
        fig("task page with a full diff page: whole answer p50", withDiff.total, "ms"),
        fig("list page weight (HTML + CSS + JS, gzip)", listKb, "KB", ["≤ 100 KB", listKb <= 100]),
        fig("task page weight without the diagram (gzip)", taskKb, "KB", ["≤ 100 KB", taskKb <= 100]),
        fig("task page weight with a full diff page, without the diagram (gzip)", diffKb, "KB", [
          "≤ 100 KB",
          diffKb <= 100,
        ]),
      ],
      notes: [
        "Rows painted: the Element Timing API's renderTime of the first row's text (navigation start = 0).",
        "D1 reads: the Worker's own Server-Timing (db;dur), its page queries' wall time in workerd.",
        "The diagram frame (Mermaid, ~750 KB gzip for a flowchart) loads after the page, only when a result has a diagram.",
        `The diff task: a real codex run on the executor (\`${TOOL}\`); its page carries the first of its diff pages (${(diffBytes / 1024).toFixed(0)} KiB of text, one span a line) and links the next.`,
      ],
    };
  } finally {
    await browser.close();
    await e.stop();
  }
}
