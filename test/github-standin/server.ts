/**
 * A GitHub REST API stand-in for tests, on a free loopback port: every request is matched to an
 * operation of GitHub's official description (@octokit/openapi) and its path parameters, query and
 * body validated against it; every answer is validated against the operation's response schema too.
 * A request the description does not allow is answered 400 and recorded as a violation; `close()`
 * (and `assertValid()`) then throw, so the test fails loudly. Pull requests live in memory.
 *
 * Implemented: pulls/list, pulls/create, pulls/update (edit, close). A valid request to any other
 * operation is a violation too ("not implemented by the stand-in"), never a silent success.
 *
 *   const gh = await startGitHubStandin({ token: "t0ken", branchSha: (o, r, b) => remote.sha(r, b) });
 *   // executor: GITHUB_API_URL=gh.url
 *   gh.dropAnswers("pulls/create", 1);   // the next create happens, then its connection is destroyed
 *   gh.pulls();                          // what exists
 *   await gh.close();                    // throws if any request broke the description
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, githubSpec } from "./openapi.ts";
import { pullJson, type StandinPull } from "./pulls.ts";

export interface GitHubStandinOptions {
  /** The token the stand-in accepts (`Authorization: token …` or `Bearer …`). */
  token: string;
  /**
   * A branch's commit in the repository OWNER/REPO, or null when there is none (create then answers
   * 422 like GitHub). Default: every branch exists, at a made-up commit.
   */
  branchSha?: (owner: string, repo: string, branch: string) => string | null;
}

export interface StandinRequest {
  method: string;
  path: string;
  operationId: string | null;
  status: number;
}

export interface GitHubStandin {
  /** GITHUB_API_URL for the executor. */
  readonly url: string;
  pulls(): readonly StandinPull[];
  /** The next `times` answers of `operationId` are dropped after their side effect (connection destroyed). */
  dropAnswers(operationId: string, times?: number): void;
  setToken(token: string): void;
  requests(): readonly StandinRequest[];
  violations(): readonly string[];
  /** Throws when a request or an answer broke GitHub's description. */
  assertValid(): void;
  close(): Promise<void>;
}

const DOCS = "https://docs.github.com/rest";

interface Reply {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

export async function startGitHubStandin(opts: GitHubStandinOptions): Promise<GitHubStandin> {
  const spec = await githubSpec();
  const { api } = spec;
  let token = opts.token;
  const pulls: StandinPull[] = [];
  const drops = new Map<string, number>();
  const log: StandinRequest[] = [];
  const violations: string[] = [];
  let base = "";
  const template = (id: string): Record<string, unknown> => {
    const m = api.mockResponseForOperation(id, { code: 200 }).mock as unknown;
    return (Array.isArray(m) ? m[0] : m) as Record<string, unknown>;
  };
  const full = template("pulls/get");
  const simple = template("pulls/list");
  const shaOf = (owner: string, repo: string, branch: string) =>
    opts.branchSha ? opts.branchSha(owner, repo, branch) : "0123456789abcdef0123456789abcdef01234567";
  const failed = (status: number, message: string, errors?: unknown[]): Reply => ({
    status,
    body: { message, documentation_url: DOCS, ...(errors ? { errors } : {}) },
  });

  function route(operationId: string, params: Record<string, string>, query: URLSearchParams, body: unknown): Reply {
    const owner = params.owner ?? "";
    const repo = params.repo ?? "";
    const mine = pulls.filter((p) => p.owner === owner && p.repo === repo);
    const now = new Date().toISOString();
    if (operationId === "pulls/list") {
      const state = query.get("state") ?? "open";
      const head = query.get("head");
      if (head !== null && !head.includes(":"))
        violations.push(`pulls/list: head '${head}' is not 'owner:branch' (GitHub ignores it)`);
      const found = mine
        .filter((p) => state === "all" || p.state === state)
        .filter((p) => head === null || `${p.owner}:${p.head}` === head)
        .filter((p) => !query.get("base") || p.base === query.get("base"))
        .sort((a, b) => b.number - a.number);
      return { status: 200, body: found.map((p) => pullJson(simple, p, base)) };
    }
    if (operationId === "pulls/create") {
      const b = body as { title: string; head: string; base: string; body?: string; draft?: boolean };
      const headSha = shaOf(owner, repo, b.head);
      const baseSha = shaOf(owner, repo, b.base);
      if (headSha === null || baseSha === null)
        return failed(422, "Validation Failed", [
          { resource: "PullRequest", field: headSha === null ? "head" : "base", code: "invalid" },
        ]);
      if (mine.some((p) => p.state === "open" && p.head === b.head && p.base === b.base))
        return failed(422, "Validation Failed", [
          { resource: "PullRequest", code: "custom", message: `A pull request already exists for ${owner}:${b.head}.` },
        ]);
      const p: StandinPull = {
        number: pulls.length + 1,
        owner,
        repo,
        state: "open",
        title: b.title,
        body: b.body ?? null,
        head: b.head,
        headSha,
        base: b.base,
        baseSha,
        draft: b.draft ?? false,
        createdAt: now,
        updatedAt: now,
        closedAt: null,
      };
      pulls.push(p);
      return {
        status: 201,
        body: pullJson(full, p, base),
        headers: { location: `${base}/repos/${owner}/${repo}/pulls/${p.number}` },
      };
    }
    if (operationId === "pulls/update") {
      const p = mine.find((x) => x.number === Number(params.pull_number));
      if (!p) return failed(404, "Not Found");
      const b = body as { title?: string; body?: string; state?: "open" | "closed"; base?: string };
      if (b.title !== undefined) p.title = b.title;
      if (b.body !== undefined) p.body = b.body;
      if (b.base !== undefined) p.base = b.base;
      if (b.state !== undefined && b.state !== p.state) {
        p.state = b.state;
        p.closedAt = b.state === "closed" ? now : null;
      }
      p.updatedAt = now;
      return { status: 200, body: pullJson(full, p, base) };
    }
    violations.push(`${operationId}: a valid request, but not implemented by the stand-in`);
    return failed(501, `the stand-in does not implement ${operationId}`);
  }

  async function handle(req: IncomingMessage, res: ServerResponse, entry: StandinRequest): Promise<void> {
    const u = new URL(req.url ?? "/", base);
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString("utf8");
    let body: unknown;
    if (text !== "") {
      if (!/^application\/json/i.test(req.headers["content-type"] ?? ""))
        violations.push(`${req.method} ${u.pathname}: a body without content-type application/json`);
      try {
        body = JSON.parse(text);
      } catch {
        violations.push(`${req.method} ${u.pathname}: the body is not JSON`);
        return send(res, entry, failed(400, "Problems parsing JSON"));
      }
    }
    const auth = /^(?:token|bearer) (.+)$/i.exec(req.headers.authorization ?? "")?.[1];
    if (auth !== token) {
      const reply = { status: 401, body: { message: "Bad credentials", documentation_url: DOCS, status: "401" } };
      for (const e of spec.schema("basic-error", reply.body)) violations.push(`stand-in's 401 answer: ${e}`);
      return send(res, entry, reply);
    }
    const request = {
      method: (req.method ?? "GET").toLowerCase(),
      path: u.pathname,
      query: Object.fromEntries(u.searchParams),
      headers: req.headers as Record<string, string>,
      ...(body !== undefined ? { body } : {}),
    };
    const op = api.matchOperation(request);
    if (!op) {
      violations.push(`${req.method} ${u.pathname}: no such operation in GitHub's description`);
      return send(res, entry, failed(404, "Not Found"));
    }
    entry.operationId = op.operationId ?? null;
    const checked = api.validateRequest(request, op);
    if (!checked.valid) {
      violations.push(`${op.operationId} request: ${describe(checked.errors ?? []).join("; ")}`);
      return send(res, entry, failed(400, `the request does not match GitHub's description of ${op.operationId}`));
    }
    const params = api.router.parseRequest(request, op).params as Record<string, string>;
    const reply = route(op.operationId ?? "", params, u.searchParams, body);
    // A 501 is the stand-in's own refusal (already a violation), not an answer GitHub describes.
    const answer =
      reply.status === 501 ? { valid: true, errors: [] } : api.validateResponse(reply.body, op, reply.status);
    if (!answer.valid)
      violations.push(
        `stand-in's ${reply.status} answer to ${op.operationId}: ${describe(answer.errors ?? []).join("; ")}`,
      );
    const left = drops.get(op.operationId ?? "") ?? 0;
    if (left > 0) {
      drops.set(op.operationId ?? "", left - 1);
      entry.status = -1;
      // After the side effect, before the answer: the client sees the connection die.
      req.socket.destroy();
      return;
    }
    send(res, entry, reply);
  }

  function send(res: ServerResponse, entry: StandinRequest, r: Reply): void {
    entry.status = r.status;
    const text = JSON.stringify(r.body);
    res.writeHead(r.status, {
      "content-type": "application/json; charset=utf-8",
      "content-length": Buffer.byteLength(text),
      "x-github-media-type": "github.v3; format=json",
      "x-ratelimit-remaining": "4999",
      ...r.headers,
    });
    res.end(text);
  }

  const server = createServer((req, res) => {
    const entry: StandinRequest = { method: req.method ?? "", path: req.url ?? "", operationId: null, status: 0 };
    log.push(entry);
    handle(req, res, entry).catch((err: unknown) => {
      violations.push(`stand-in crashed on ${req.method} ${req.url}: ${String(err)}`);
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const assertValid = () => {
    if (violations.length > 0)
      throw new Error(
        `GitHub stand-in: requests or answers that break GitHub's description:\n${violations.join("\n")}`,
      );
  };
  return {
    url: base,
    pulls: () => pulls,
    dropAnswers(operationId, times = 1) {
      drops.set(operationId, (drops.get(operationId) ?? 0) + times);
    },
    setToken(t) {
      token = t;
    },
    requests: () => log,
    violations: () => violations,
    assertValid,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      assertValid();
    },
  };
}
