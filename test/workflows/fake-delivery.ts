/**
 * The fake executor's POST /jobs/:id/deliver, /discard and GET /jobs/:id/diff, with the real
 * executor's rules (executor/src/delivery, contract/src/delivery.ts): only a succeeded job with a
 * commit and a `source` is delivered, never to the default branch; delivering again pushes the same
 * commit and updates the open pull request of the branch instead of opening another; discard closes
 * them and deletes the branch; a diff comes in pages of at most 64 KiB (diffstat on the first) with
 * an opaque cursor. Answers are parsed with the contract's schemas before they are sent. Faults are
 * injected for real: a refused delivery (a wire error), or an answer lost after its side effect.
 */
import {
  DeliverRequest,
  DeliverResult,
  DiffPage,
  DiffSide,
  DiscardRequest,
  DiscardResult,
  type JobRequest,
  type JobView,
  MAX_DIFF_PAGE_BYTES,
} from "@vault-mcp/contract";

export interface FakePull {
  number: number;
  github: string;
  head: string;
  base: string;
  title: string;
  body: string;
  state: "open" | "closed";
}

const wireError = (status: number, code: string, message: string) =>
  Response.json({ error: { code, message } }, { status });

export class FakeRemote {
  /** `<url> <branch>` → the commit pushed there. */
  readonly branches = new Map<string, string>();
  readonly pulls: FakePull[] = [];
  /** Every call, as `deliver <jobId>`, `discard <jobId>`, `diff <jobId> <side>`. */
  readonly calls: string[] = [];
  /** The diff's text per side; default: a small diff of the job's files. Set it to test paging. */
  diffOf: ((jobId: string, side: "a" | "b") => string) | null = null;
  private failures: { status: number; code: string; message: string; times: number } | null = null;
  private lostAnswers = 0;

  /** The next `times` deliveries are refused with this wire error (nothing pushed). */
  failDeliveries(code: string, times = Number.POSITIVE_INFINITY, status = 502): void {
    this.failures = { status, code, message: `fake ${code}: fix it`, times };
  }

  /** The next `times` deliveries push and open their pull request, then the answer is lost. */
  loseDeliverAnswers(times: number): void {
    this.lostAnswers = times;
  }

  branch(source: { url: string }, branch: string): string | null {
    return this.branches.get(`${source.url} ${branch}`) ?? null;
  }

  deliver(job: { view: JobView; request: JobRequest }, body: DeliverRequest): Response {
    const { view, request } = job;
    const commit = view.result?.commit ?? null;
    if (view.status !== "succeeded" || commit === null)
      return wireError(409, "not_deliverable", `job ${view.jobId} has nothing to deliver`);
    if (!request.source) return wireError(409, "not_deliverable", `job ${view.jobId} has no source URL`);
    if (body.branch === request.source.defaultBranch)
      return wireError(409, "not_deliverable", `'${body.branch}' is the default branch`);
    const f = this.failures;
    if (f && f.times > 0) {
      f.times -= 1;
      return wireError(f.status, f.code, f.message);
    }
    this.branches.set(`${request.source.url} ${body.branch}`, commit);
    let pr: { number: number; url: string } | null = null;
    if (body.mode === "pr" && body.pr) {
      const spec = body.pr;
      let open = this.pulls.find((p) => p.github === spec.github && p.head === body.branch && p.state === "open");
      if (open) Object.assign(open, { title: spec.title, body: spec.body });
      else {
        open = {
          number: this.pulls.length + 1,
          github: spec.github,
          head: body.branch,
          base: spec.base ?? request.source.defaultBranch,
          title: spec.title,
          body: spec.body,
          state: "open",
        };
        this.pulls.push(open);
      }
      pr = { number: open.number, url: `https://github.com/${spec.github}/pull/${open.number}` };
    }
    if (this.lostAnswers > 0) {
      this.lostAnswers -= 1;
      throw new TypeError("network connection lost");
    }
    return Response.json(DeliverResult.parse({ branch: body.branch, commit, pushed: true, pr }));
  }

  discard(job: { request: JobRequest }, body: DiscardRequest): Response {
    const source = job.request.source;
    if (!source) return wireError(409, "not_deliverable", "no source URL");
    const prsClosed: number[] = [];
    for (const p of this.pulls)
      if (body.github && p.github === body.github && p.head === body.branch && p.state === "open") {
        p.state = "closed";
        prsClosed.push(p.number);
      }
    const branchDeleted = this.branches.delete(`${source.url} ${body.branch}`);
    return Response.json(DiscardResult.parse({ branch: body.branch, branchDeleted, prsClosed }));
  }

  diff(job: { view: JobView }, url: URL): Response {
    const { view } = job;
    const base = view.result?.base;
    if (!view.result || !base) return wireError(409, "no_diff", `job ${view.jobId} has no base`);
    const side = DiffSide.safeParse(url.searchParams.get("side") ?? "a");
    if (!side.success) return wireError(400, "invalid_input", "side must be 'a' or 'b'");
    if (side.data === "b" && !view.result.runB)
      return wireError(400, "invalid_input", `job ${view.jobId} is not a consensus job`);
    const text =
      this.diffOf?.(view.jobId, side.data) ??
      view.result.files
        .map((f) => `diff --git a/${f.path} b/${f.path}\n--- /dev/null\n+++ b/${f.path}\n@@ -0,0 +1 @@\n+hello\n`)
        .join("");
    const cursor = url.searchParams.get("cursor");
    const from = cursor === null ? 0 : Number(/^o(\d+)$/.exec(cursor)?.[1] ?? Number.NaN);
    if (Number.isNaN(from) || from > text.length) return wireError(400, "bad_cursor", "cursor is not one we gave");
    // ASCII text: a character is a byte. Cut after the last newline that fits, like the executor.
    let end = Math.min(text.length, from + MAX_DIFF_PAGE_BYTES);
    if (end < text.length) {
      const nl = text.lastIndexOf("\n", end - 1);
      if (nl >= from) end = nl + 1;
    }
    const files = view.result.files;
    return Response.json(
      DiffPage.parse({
        jobId: view.jobId,
        side: side.data,
        base: base.commit,
        commit: view.result.commit,
        stat:
          cursor === null
            ? {
                files,
                added: files.reduce((n, f) => n + (f.added ?? 0), 0),
                deleted: files.reduce((n, f) => n + (f.deleted ?? 0), 0),
              }
            : null,
        text: text.slice(from, end),
        cursor: end < text.length ? `o${end}` : null,
        truncated: false,
      }),
    );
  }
}

/** Routes POST /jobs/:id/deliver, /discard and GET /jobs/:id/diff of the fake executor. */
export function jobAction(
  remote: FakeRemote,
  a: {
    job: { view: JobView; request: JobRequest } | undefined;
    action: "deliver" | "discard" | "diff";
    method: string;
    url: URL;
    init: RequestInit | undefined;
  },
): Response {
  const { job, action } = a;
  remote.calls.push(
    `${action} ${job?.view.jobId ?? "?"}${action === "diff" ? ` ${a.url.searchParams.get("side") ?? "a"}` : ""}`,
  );
  if (a.method !== (action === "diff" ? "GET" : "POST")) return wireError(405, "method_not_allowed", "wrong method");
  if (!job) return wireError(404, "not_found", "no such job");
  if (action === "diff") return remote.diff(job, a.url);
  const json = JSON.parse(String(a.init?.body)) as unknown;
  if (action === "deliver") {
    const body = DeliverRequest.safeParse(json);
    if (!body.success) return wireError(400, "invalid_input", body.error.message);
    return remote.deliver(job, body.data);
  }
  const body = DiscardRequest.safeParse(json);
  if (!body.success) return wireError(400, "invalid_input", body.error.message);
  return remote.discard(job, body.data);
}
