/**
 * The status pages' guards in workerd: nothing under /status without a session (a redirect to
 * sign-in), sign-in through the owner secret and the consent page's rate limit, a signed __Host-
 * cookie, CSRF and Origin on every form, the CSP and no-store on every answer, hostile stored text
 * shown as text, and keyset pages that neither skip nor repeat a task. Delivery: the PR link, the
 * change, the diff paged from the executor (test/workflows/fake-executor.ts, the only fake) and
 * "deliver again".
 */
import { introspectWorkflow } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import { SESSION_COOKIE } from "../../worker/status/session.ts";
import { setExecutorFetch } from "../../workflows/executor-client.ts";
import { FakeExecutor } from "../workflows/fake-executor.ts";
import { api } from "./mcp-client.ts";

const OWNER_SECRET = "test-owner-secret-0123";
const BASE = "http://localhost";
let ipSeq = 0;
/** Each test signs in from its own address: the limiter counts per IP. */
const nextIp = () => `10.9.${Math.floor(++ipSeq / 200)}.${ipSeq % 200}`;

function get(path: string, cookie?: string): Promise<Response> {
  return exports.default.fetch(
    new Request(`${BASE}${path}`, { headers: cookie ? { cookie } : {}, redirect: "manual" }),
  );
}

function post(
  path: string,
  form: Record<string, string>,
  opts: { cookie?: string; origin?: string | null; ip?: string } = {},
): Promise<Response> {
  const headers: Record<string, string> = { "content-type": "application/x-www-form-urlencoded" };
  if (opts.cookie) headers.cookie = opts.cookie;
  if (opts.origin !== null) headers.origin = opts.origin ?? BASE;
  if (opts.ip) headers["cf-connecting-ip"] = opts.ip;
  return exports.default.fetch(
    new Request(`${BASE}${path}`, { method: "POST", headers, body: new URLSearchParams(form), redirect: "manual" }),
  );
}

async function signIn(ip = nextIp()): Promise<{ cookie: string; csrf: string }> {
  const res = await post("/status/sign-in", { secret: OWNER_SECRET, next: "/status" }, { ip });
  expect(res.status).toBe(303);
  const cookie = (res.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
  const page = await (await get("/status", cookie)).text();
  const csrf = /name="csrf" value="([^"]+)"/.exec(page)?.[1] ?? "";
  expect(csrf).not.toBe("");
  return { cookie, csrf };
}

let taskSeq = 0;
async function insertTask(fields: Partial<Record<string, string | number | null>> = {}): Promise<string> {
  const id = `t-20261124-1530-${(++taskSeq).toString(36).padStart(6, "0")}`;
  const row: Record<string, string | number | null> = {
    id,
    status: "succeeded",
    kind: "general",
    prompt: "Add a --verbose flag",
    repo: "demo",
    created_at: 1_790_000_000_000 + taskSeq * 1000,
    updated_at: 1_790_000_000_000 + taskSeq * 1000,
    ...fields,
  };
  const cols = Object.keys(row);
  await env.DB.prepare(
    `INSERT INTO tasks (${cols.map((c) => `"${c}"`).join(", ")}) VALUES (${cols.map((_, i) => `?${i + 1}`).join(", ")})`,
  )
    .bind(...cols.map((c) => row[c] ?? null))
    .run();
  return id;
}

describe("status pages: no session, no page", () => {
  it("every page redirects to sign-in, keeping where it was going", async () => {
    const id = await insertTask();
    for (const path of [
      "/status",
      "/status/",
      "/status/spend",
      "/status/executors",
      `/status/tasks/${id}`,
      `/status/tasks/${id}/live`,
    ]) {
      const res = await get(path);
      expect(res.status, path).toBe(303);
      expect(res.headers.get("location"), path).toBe(`/status/sign-in?next=${encodeURIComponent(path)}`);
      expect(res.headers.get("cache-control")).toBe("no-store");
    }
  });

  it("a forged, tampered or other-secret cookie is no session", async () => {
    const { cookie } = await signIn();
    const value = cookie.slice(SESSION_COOKIE.length + 1);
    const [v, exp, sid, sig] = value.split(".");
    const forged = [
      `${SESSION_COOKIE}=v1.${Number(exp) + 1000}.${sid}.${sig}`,
      `${SESSION_COOKIE}=${v}.${exp}.AAAAAAAAAAAAAAAAAAAAAA.${sig}`,
      `${SESSION_COOKIE}=${v}.${exp}.${sid}.${"A".repeat(43)}`,
      `${SESSION_COOKIE}=garbage`,
      `other=${value}`,
    ];
    for (const c of forged) expect((await get("/status", c)).status, c).toBe(303);
    expect((await get("/status", cookie)).status).toBe(200);
  });

  it("a POST without a session changes nothing: 401", async () => {
    const res = await post("/status/spend/ack", { csrf: "x" });
    expect(res.status).toBe(401);
  });
});

describe("sign-in", () => {
  it("refuses a wrong secret (401, no cookie) and gives a __Host- session cookie for the right one", async () => {
    const ip = nextIp();
    const wrong = await post("/status/sign-in", { secret: "guess", next: "/status" }, { ip });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get("set-cookie")).toBeNull();
    expect(await wrong.text()).toContain("not this server&#39;s owner secret");
    const right = await post("/status/sign-in", { secret: OWNER_SECRET, next: "/status/spend" }, { ip });
    expect(right.status).toBe(303);
    expect(right.headers.get("location")).toBe("/status/spend");
    const setCookie = right.headers.get("set-cookie") ?? "";
    expect(setCookie).toMatch(new RegExp(`^${SESSION_COOKIE}=v1\\.`));
    for (const attr of ["Path=/", "Secure", "HttpOnly", "SameSite=Strict", "Max-Age=14400"])
      expect(setCookie).toContain(attr);
    expect(setCookie).not.toContain("Domain");
  });

  it("sends the browser back only to a page under /status", async () => {
    for (const next of ["https://evil.example/", "//evil.example/status", "/api/tasks", "/status\\@evil"]) {
      const res = await post("/status/sign-in", { secret: OWNER_SECRET, next }, { ip: nextIp() });
      expect(res.headers.get("location"), next).toBe("/status");
    }
  });

  it("shares the consent page's limit: 5 attempts a minute per address, then 429 even for the right secret", async () => {
    const ip = nextIp();
    for (let i = 0; i < 5; i++)
      expect((await post("/status/sign-in", { secret: `guess-${i}` }, { ip })).status).toBe(401);
    const limited = await post("/status/sign-in", { secret: OWNER_SECRET }, { ip });
    expect(limited.status).toBe(429);
    expect(limited.headers.get("retry-after")).toBe("60");
    expect(limited.headers.get("set-cookie")).toBeNull();
    expect(await limited.text()).toContain("Too many attempts");
    expect((await post("/status/sign-in", { secret: OWNER_SECRET }, { ip: nextIp() })).status).toBe(303);
  });

  it("refuses a sign-in posted from another site", async () => {
    const res = await post(
      "/status/sign-in",
      { secret: OWNER_SECRET },
      { origin: "https://evil.example", ip: nextIp() },
    );
    expect(res.status).toBe(403);
    expect(res.headers.get("set-cookie")).toBeNull();
  });
});

describe("CSRF and Origin on every form", () => {
  it("a form without this session's token, or from another site, is refused and changes nothing", async () => {
    const id = await insertTask({ status: "needs_human", waiting_for: "human-1" });
    const mine = await signIn();
    const theirs = await signIn();
    const decide = (form: Record<string, string>, origin?: string | null) =>
      post(`/status/tasks/${id}/decide`, { decision: "reject", ...form }, { cookie: mine.cookie, origin });
    expect((await decide({})).status).toBe(403);
    expect((await decide({ csrf: theirs.csrf })).status).toBe(403);
    expect((await decide({ csrf: mine.csrf }, "https://evil.example")).status).toBe(403);
    expect((await decide({ csrf: mine.csrf }, null)).status).toBe(403);
    const row = await env.DB.prepare("SELECT waiting_for AS w FROM tasks WHERE id = ?1")
      .bind(id)
      .first<{ w: string }>();
    expect(row?.w).toBe("human-1");
    const decisions = await env.DB.prepare("SELECT COUNT(*) AS n FROM decisions WHERE task_id = ?1")
      .bind(id)
      .first<{ n: number }>();
    expect(decisions?.n).toBe(0);
  });

  it("sign-out needs the token too, then clears the cookie", async () => {
    const s = await signIn();
    expect((await post("/status/sign-out", {}, { cookie: s.cookie })).status).toBe(403);
    const out = await post("/status/sign-out", { csrf: s.csrf }, { cookie: s.cookie });
    expect(out.status).toBe(303);
    expect(out.headers.get("location")).toBe("/status/sign-in");
    expect(out.headers.get("set-cookie")).toMatch(new RegExp(`^${SESSION_COOKIE}=; .*Max-Age=0`));
  });
});

describe("headers and hostile text", () => {
  it("every page carries a CSP without inline script or style, no-store, nosniff; only the sandboxed diagram frame allows inline style", async () => {
    const id = await insertTask({ result: 'flowchart LR\n  A["ok"] --> B["done"]' });
    const { cookie } = await signIn();
    for (const path of ["/status", "/status/spend", "/status/executors", `/status/tasks/${id}`, "/status/sign-in"]) {
      const res = await get(path, cookie);
      expect(res.status, path).toBe(200);
      const csp = res.headers.get("content-security-policy") ?? "";
      expect(csp, path).toContain("default-src 'self'");
      expect(csp, path).toContain("script-src 'self';");
      expect(csp, path).toContain("style-src 'self';");
      expect(csp, path).toContain("frame-ancestors 'none'");
      expect(csp, path).not.toContain("unsafe");
      expect(res.headers.get("cache-control"), path).toBe("no-store");
      expect(res.headers.get("x-content-type-options"), path).toBe("nosniff");
      const html = await res.text();
      expect(html, path).not.toMatch(/\sstyle=/);
      expect(html, path).not.toMatch(/<script(?![^>]*\ssrc=)[^>]*>/);
      expect(html, path).not.toContain("http://cdn");
      expect(html, path).not.toContain(OWNER_SECRET);
    }
    const page = await (await get(`/status/tasks/${id}`, cookie)).text();
    expect(page).toContain(
      `<iframe class="diagram" id="diagram" title="The result as a diagram" sandbox="allow-scripts"`,
    );
    const frame = await get(`/status/tasks/${id}/diagram`, cookie);
    const csp = frame.headers.get("content-security-policy") ?? "";
    expect(csp).toContain("script-src 'self';");
    expect(csp).toContain("style-src 'self' 'unsafe-inline'");
    expect(csp).toContain("frame-ancestors 'self'");
  });

  it("shows agent and model text as text: HTML escaped, control sequences and bidi overrides removed, Mermaid neutralised", async () => {
    const hostile =
      "<script>alert(1)</script><img src=x onerror=alert(2)> \u001b]0;pwned\u0007\u001b[2J done \u202Egnp.exe";
    const id = await insertTask({
      status: "failed",
      prompt: `Fix it ${hostile}`,
      error: `model said ${hostile}`,
      result: `flowchart LR\n  A["#lt;img src=x onerror=alert(3)#gt;"] --> B["<b>x</b>"]\n  %%{init: {"securityLevel":"loose"}}%%\n  click A call alert(4)\n\nanswer: ${hostile}`,
    });
    const { cookie } = await signIn();
    const page = await (await get(`/status/tasks/${id}`, cookie)).text();
    expect(page).toContain("&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;");
    expect(page).not.toContain("<script>alert");
    expect(page).not.toContain("<img src=x");
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the test looks for control characters
    expect(page).not.toMatch(/[\u001b\u0007\u202e]/);
    expect(page).toContain(" done gnp.exe");
    const list = await (await get("/status?q=Fix%20it", cookie)).text();
    expect(list).toContain("Fix it &lt;script&gt;");
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the test looks for control characters
    expect(list).not.toMatch(/[\u001b\u202e]/);
    const frame = await (await get(`/status/tasks/${id}/diagram`, cookie)).text();
    const source = /<pre id="source">([\s\S]*?)<\/pre>/.exec(frame)?.[1] ?? "";
    expect(source).toContain("‹b&gt;x‹/b&gt;");
    expect(source).toContain("lt;img src=x onerror=alert(3)gt;");
    expect(source).not.toContain("%%");
    expect(source).not.toMatch(/(^|[\n;])\s*click\b/i);
    expect(source).not.toContain("answer:");
  });
});

describe("the chooser on the pages", () => {
  it("the task page shows why the chooser ran an attempt; the list filters by kind as a task's kind is normalised", async () => {
    const id = await insertTask({ kind: "bug-fix", status: "failed" });
    const note = "chose sonnet for kind bug-fix: 95 % of 60 runs, $0.46 per solved task; gemini-pro $0.99";
    await env.DB.prepare(
      "INSERT INTO stages (id, task_id, attempt, task_kind, profile, cli, model, status, error_message, note, created_at) VALUES (?1, ?2, 1, 'bug-fix', 'sonnet', 'claude', 'm', 'failed', 'verify failed', ?3, 1790000000000)",
    )
      .bind(`${id}:1`, id, note)
      .run();
    const { cookie } = await signIn();
    const page = await (await get(`/status/tasks/${id}`, cookie)).text();
    expect(page).toContain(`${note}\nverify failed`);
    const list = await (await get("/status?kind=Bug%20Fix!", cookie)).text();
    expect([...list.matchAll(/data-task="([^"]+)"/g)].map((m) => m[1])).toEqual([id]);
  });
});

describe("task list", () => {
  it("pages by keyset: newest first, 50 a page, no task skipped or repeated; filters by status, repo and search", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 120; i++)
      ids.push(
        await insertTask({
          repo: "paging",
          status: i % 3 === 0 ? "halted" : "succeeded",
          prompt: i === 7 ? "needle in the haystack" : `paging task ${i}`,
          // Ties on created_at must not lose a task between pages.
          created_at: 1_800_000_000_000 + Math.floor(i / 4) * 1000,
        }),
      );
    const { cookie } = await signIn();
    const seen: string[] = [];
    let url = "/status?repo=paging";
    for (let page = 0; page < 5 && url; page++) {
      const html = await (await get(url, cookie)).text();
      seen.push(...[...html.matchAll(/data-task="([^"]+)"/g)].map((m) => m[1] ?? ""));
      const next = /id="next-page" rel="next" href="([^"]+)"|href="([^"]+)" id="next-page"/.exec(html);
      url = (next?.[1] ?? next?.[2] ?? "").replace(/&amp;/g, "&");
    }
    expect(seen).toHaveLength(120);
    expect(new Set(seen).size).toBe(120);
    const expected = [...ids].reverse().sort((a, b) => {
      const ta = Math.floor(ids.indexOf(a) / 4);
      const tb = Math.floor(ids.indexOf(b) / 4);
      return tb - ta || (a < b ? 1 : -1);
    });
    expect(seen).toEqual(expected);
    const halted = await (await get("/status?repo=paging&status=halted", cookie)).text();
    const haltedRows = [...halted.matchAll(/data-status="([^"]+)"/g)].map((m) => m[1]);
    expect(haltedRows.length).toBe(40);
    expect(new Set(haltedRows)).toEqual(new Set(["halted"]));
    const found = await (await get("/status?repo=paging&q=NEEDLE", cookie)).text();
    expect([...found.matchAll(/data-task="([^"]+)"/g)].map((m) => m[1])).toEqual([ids[7]]);
    const byId = await (await get(`/status?q=${ids[9]}`, cookie)).text();
    expect([...byId.matchAll(/data-task="([^"]+)"/g)].map((m) => m[1])).toEqual([ids[9]]);
    expect((await get("/status?status=bogus", cookie)).status).toBe(400);
  });
});

/** The text of the page's diff, as a reader sees it: tags dropped, entities decoded. */
function diffText(html: string): string {
  const pre = /<pre class="diff-text" id="diff-text">([\s\S]*?)<\/pre>/.exec(html)?.[1] ?? "";
  return pre
    .replace(/<\/?span[^>]*>/g, "")
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, "&");
}

const hrefOf = (html: string, id: string) =>
  (new RegExp(`<a href="([^"]+)"[^>]* id="${id}"|id="${id}"[^>]* href="([^"]+)"`).exec(html) ?? [])
    .slice(1)
    .find(Boolean)
    ?.replace(/&amp;/g, "&") ?? null;

async function executeTask(
  body: Record<string, unknown>,
): Promise<{ taskId: string; status: string; flags: string[] }> {
  const res = await api("/api/execute", {
    method: "POST",
    body: JSON.stringify({ prompt: "Create hello.txt", waitSeconds: 20, ...body }),
  });
  expect(res.status, await res.clone().text()).toBe(200);
  return (await res.json()) as { taskId: string; status: string; flags: string[] };
}

/**
 * `fake` as the executor, the workflow's retry delays off, and the repo `web` registered to deliver
 * by `mode`; dispose the returned introspector (`await using`) to restore the workflow.
 */
async function deliveringTo(fake: FakeExecutor, mode: "push" | "pr") {
  setExecutorFetch(fake.fetch);
  const intro = await introspectWorkflow(env.EXECUTE_WORKFLOW);
  await intro.modifyAll(async (m) => m.disableRetryDelays());
  const repo = await api("/api/repos", {
    method: "POST",
    body: JSON.stringify({ name: "web", url: "https://github.com/octo-org/web.git", deliver: mode }),
  });
  expect(repo.status, await repo.clone().text()).toBe(200);
  return intro;
}

describe("delivery on the pages", { timeout: 30_000 }, () => {
  afterEach(async () => {
    setExecutorFetch(null);
    await env.DB.exec("DELETE FROM repos;");
  });

  it("the list links a task's pull request (http(s) only); the task page shows its change, and says when the executor cannot serve the diff", async () => {
    const pr = "https://github.com/octo-org/web/pull/7";
    const delivered = await insertTask({
      repo: "linked",
      deliver: "pr",
      branch: "vault/t-x",
      commit: "0123456789abcdef0123456789abcdef01234567",
      diff_files: 2,
      diff_added: 40001,
      diff_deleted: 3,
      pr_url: pr,
      pr_number: 7,
      delivery: "delivered",
      delivered_at: 1_790_000_100_000,
    });
    await env.DB.prepare(
      `INSERT INTO stages (id, task_id, attempt, task_kind, profile, cli, model, status, job_id, branch, "commit", created_at) VALUES (?1, ?2, 1, 'general', 'sonnet', 'claude', 'm', 'succeeded', 'job-gone', 'vault/j', '0123456789abcdef0123456789abcdef01234567', 1790000000000)`,
    )
      .bind(`${delivered}:1`, delivered)
      .run();
    const hostile = await insertTask({
      repo: "linked",
      pr_url: "javascript:alert(1)//https://github.com/o/r/pull/1",
    });
    const { cookie } = await signIn();
    const list = await (await get("/status?repo=linked", cookie)).text();
    const rows = list.split("<tr data-task=").slice(1);
    const row = (id: string) => rows.find((r) => r.startsWith(`"${id}"`)) ?? "";
    expect(row(delivered)).toContain(`<a href="${pr}" class="pr-link" title="${pr}">#7</a>`);
    expect(row(hostile)).not.toContain("pr-link");
    expect(list).not.toContain("javascript:");

    const res = await get(`/status/tasks/${delivered}`, cookie);
    expect(res.status).toBe(200);
    expect(res.headers.get("server-timing")).toMatch(/^db;dur=[\d.]+, exec;dur=[\d.]+$/);
    const page = await res.text();
    expect(page).toContain('data-delivery="delivered"');
    expect(page).toContain('<code id="delivery-branch">vault/t-x</code><code> @ 0123456789ab</code> (on the remote)');
    expect(page).toContain('2 files <span class="add">+40001</span> <span class="del">−3</span>');
    expect(page).toContain(
      `pr · delivered ${new Date(1_790_000_100_000).toISOString().slice(0, 19).replace("T", " ")} UTC`,
    );
    expect(page).toContain(`<a href="${pr}" id="pr-link">`);
    expect(page).not.toContain('id="deliver-form"');
    // No executor answers in this test: the page still renders, and says why there is no diff.
    expect(page).toContain('id="diff-unavailable"');
    expect(page).toContain("could not read the diff from the executor");
    // A task without a change has neither section, and asks the executor nothing.
    const plain = await (await get(`/status/tasks/${hostile}`, cookie)).text();
    expect(plain).not.toContain('id="delivery"');
    expect(plain).not.toContain('id="diff"');
  });

  it("a failed delivery: its message, and a deliver-again form that needs the CSRF token and then delivers", async () => {
    const fake = new FakeExecutor(() => ({}));
    await using _workflow = await deliveringTo(fake, "pr");
    fake.remote.failDeliveries("delivery_auth", 1);
    const out = await executeTask({ repo: "web", profile: "sonnet" });
    expect(out.status).toBe("succeeded");
    expect(out.flags).toContain("delivery_failed");

    const s = await signIn();
    const page = await (await get(`/status/tasks/${out.taskId}`, s.cookie)).text();
    expect(page).toContain('data-delivery="failed"');
    expect(page).toContain("fake delivery_auth: fix it");
    expect(page).toContain(
      `<form method="post" action="/status/tasks/${out.taskId}/deliver" class="inline" id="deliver-form">`,
    );
    expect(/id="deliver-form">\s*<input type="hidden" name="csrf" value="([^"]+)"/.exec(page)?.[1]).toBe(s.csrf);
    // The change is there to review before delivering again.
    expect(page).toContain(
      '<span class="file">diff --git a/hello.txt b/hello.txt\n--- /dev/null\n+++ b/hello.txt\n</span><span class="hunk">@@ -0,0 +1 @@\n</span><span class="add">+hello\n</span>',
    );

    const deliver = (form: Record<string, string>) =>
      post(`/status/tasks/${out.taskId}/deliver`, form, { cookie: s.cookie });
    expect((await deliver({})).status).toBe(403);
    expect((await deliver({ csrf: "forged" })).status).toBe(403);
    expect(fake.remote.pulls).toEqual([]);
    const before = await env.DB.prepare("SELECT delivery FROM tasks WHERE id = ?1")
      .bind(out.taskId)
      .first<{ delivery: string }>();
    expect(before?.delivery).toBe("failed");
    expect((await deliver({ csrf: s.csrf, deliver: "bogus" })).status).toBe(400);

    const ok = await deliver({ csrf: s.csrf, deliver: "" });
    expect(ok.status, await ok.clone().text()).toBe(303);
    expect(ok.headers.get("location")).toBe(`/status/tasks/${out.taskId}?done=delivered`);
    const row = await env.DB.prepare("SELECT delivery, pr_url AS pr, flags FROM tasks WHERE id = ?1")
      .bind(out.taskId)
      .first<{ delivery: string; pr: string; flags: string }>();
    expect(row).toMatchObject({ delivery: "delivered", pr: "https://github.com/octo-org/web/pull/1" });
    expect(JSON.parse(row?.flags ?? "[]")).not.toContain("delivery_failed");
    expect(fake.remote.pulls).toHaveLength(1);
    const after = await (await get(`/status/tasks/${out.taskId}?done=delivered`, s.cookie)).text();
    expect(after).toContain("Delivered: the change is on its branch");
    expect(after).toContain('data-delivery="delivered"');
    expect(after).toContain('<a href="https://github.com/octo-org/web/pull/1" id="pr-link">');
    expect(after).not.toContain('id="deliver-form"');
  });

  it("a refused delivery shows the page again with what to fix, and the task keeps delivery_failed", async () => {
    const fake = new FakeExecutor(() => ({}));
    await using _workflow = await deliveringTo(fake, "push");
    fake.remote.failDeliveries("delivery_auth", 2);
    const out = await executeTask({ repo: "web", profile: "sonnet" });
    expect(out.flags).toContain("delivery_failed");
    const s = await signIn();
    const res = await post(`/status/tasks/${out.taskId}/deliver`, { csrf: s.csrf }, { cookie: s.cookie });
    expect(res.status).toBe(502);
    const html = await res.text();
    expect(html).toContain('id="notice"');
    expect(html).toContain("fake delivery_auth: fix it");
    expect(html).toContain('id="deliver-form"');
    const row = await env.DB.prepare("SELECT delivery, flags FROM tasks WHERE id = ?1")
      .bind(out.taskId)
      .first<{ delivery: string; flags: string }>();
    expect(row?.delivery).toBe("failed");
    expect(JSON.parse(row?.flags ?? "[]")).toContain("delivery_failed");
    expect(fake.remote.branches.size).toBe(0);
  });

  it("the diff: agent text shown as text, the first page with its diffstat, the rest by cursor; a consensus task links side b", async () => {
    const fake = new FakeExecutor(() => ({ consensus: true }));
    const hostile =
      "+<script>alert(1)</script><img src=x onerror=alert(2)> \u001b]0;pwned\u0007\u001b[31mred\u001b[0m \u202egnp.exe\n";
    const big = Array.from({ length: 3000 }, (_, i) => `+line ${i} ${"x".repeat(30)}\n`).join("");
    const sideA = `diff --git a/hello.txt b/hello.txt\n--- /dev/null\n+++ b/hello.txt\n@@ -0,0 +1,3001 @@\n${hostile}${big}`;
    const sideB = "diff --git a/other.txt b/other.txt\n--- /dev/null\n+++ b/other.txt\n@@ -0,0 +1 @@\n+from side b\n";
    fake.remote.diffOf = (_job, side) => (side === "a" ? sideA : sideB);
    setExecutorFetch(fake.fetch);
    const out = await executeTask({ repo: "demo", executor: "consensus" });
    expect(out.status).toBe("succeeded");
    const { cookie } = await signIn();
    const page = await (await get(`/status/tasks/${out.taskId}`, cookie)).text();
    expect(page).toContain('<h2>Diff <span class="diffstat">1 file <span class="add">+1</span>');
    expect(page).toContain('<code>hello.txt</code> <span class="diffstat"><span class="add">+1</span>');
    expect(page).toContain("&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;");
    expect(page).not.toContain("<script>alert");
    expect(page).not.toContain("<img src=x");
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the test looks for control characters
    expect(page).not.toMatch(/[\u001b\u0007\u202e]/);
    expect(page).toContain("red gnp.exe");
    const first = diffText(page);
    expect(Buffer.byteLength(first)).toBeLessThanOrEqual(64 * 1024);
    const next = hrefOf(page, "diff-next");
    expect(next).toMatch(new RegExp(`^/status/tasks/${out.taskId}/diff\\?side=a&cursor=[^&]+&page=2$`));
    const second = await get(next ?? "", cookie);
    expect(second.status).toBe(200);
    const secondHtml = await second.text();
    expect(secondHtml).toContain("page 2");
    expect(hrefOf(secondHtml, "diff-next")).toBeNull();
    // The whole diff, as plain text: the control sequences and the bidi override gone, nothing else.
    const whole = sideA.replace(hostile, "+<script>alert(1)</script><img src=x onerror=alert(2)> red gnp.exe\n");
    expect(first + diffText(secondHtml)).toBe(whole);

    const sideBHref = hrefOf(page, "diff-side-b");
    expect(sideBHref).toBe(`/status/tasks/${out.taskId}/diff?side=b`);
    const b = await (await get(sideBHref ?? "", cookie)).text();
    expect(b).toContain("Diff, side b");
    expect(diffText(b)).toBe(sideB);
    expect(hrefOf(b, "diff-side-a")).toBe(`/status/tasks/${out.taskId}/diff?side=a`);
    expect(fake.remote.calls.filter((c) => c.startsWith("diff "))).toHaveLength(3);

    expect((await get(`/status/tasks/${out.taskId}/diff?side=c`, cookie)).status).toBe(400);
    expect((await get(`/status/tasks/${out.taskId}/diff?cursor=nope`, cookie)).status).toBe(400);
    expect((await get(`/status/tasks/${out.taskId}/diff?page=0`, cookie)).status).toBe(400);
  });
});
