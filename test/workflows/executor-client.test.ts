/** The executor client's failure classes, Retry-After, and how a failure reads after crossing step.do. */
import { NonRetryableError } from "cloudflare:workflows";
import { describe, expect, it } from "vitest";
import {
  ExecutorError,
  type ExecutorFetch,
  executorClient,
  executorRetryDelay,
  parseRetryAfter,
} from "../../workflows/executor-client.ts";
import { classifyFailure } from "../../workflows/failures.ts";

const CONFIG = { executorUrl: "http://executor.test", executorSecret: "s3cret" };

function answering(
  status: number,
  body: unknown = { error: { code: "x", message: "nope" } },
  headers: Record<string, string> = {},
): ExecutorFetch {
  return async () => new Response(typeof body === "string" ? body : JSON.stringify(body), { status, headers });
}

/** What the workflow sees after the engine carried the error out of a step: `<Name>: <message>`. */
const acrossStep = (err: unknown): Error => new Error(`${(err as Error).name}: ${(err as Error).message}`);

async function failureOf(f: ExecutorFetch): Promise<unknown> {
  return executorClient(CONFIG, f)
    .getJob("job-1")
    .then(
      () => null,
      (err: unknown) => err,
    );
}

describe("executor client", () => {
  for (const status of [400, 401, 403, 404, 422]) {
    it(`HTTP ${status} is final (NonRetryableError) and reads back as an executor failure`, async () => {
      const err = await failureOf(answering(status));
      expect(err).toBeInstanceOf(NonRetryableError);
      const c = classifyFailure(acrossStep(err));
      expect(c).toMatchObject({ scope: "executor", failure: status === 401 || status === 403 ? "auth" : "refused" });
      expect(c.message).toContain(`HTTP ${status}`);
      expect(c.message).not.toContain("s3cret");
    });
  }

  for (const [status, failure] of [
    [429, "busy"],
    [500, "server"],
    [502, "server"],
    [503, "server"],
  ] as const) {
    it(`HTTP ${status} is retried (ExecutorError '${failure}')`, async () => {
      const err = await failureOf(answering(status, "oops", { "retry-after": "7" }));
      expect(err).toBeInstanceOf(ExecutorError);
      expect(err).not.toBeInstanceOf(NonRetryableError);
      expect(classifyFailure(acrossStep(err))).toMatchObject({ scope: "executor", failure });
      if (status === 429) expect((err as Error).message).toContain("retry after 7 s");
    });
  }

  it("a network error is retried ('unreachable'); a non-JSON or off-contract 200 is final ('bad_answer')", async () => {
    const net = await failureOf(async () => {
      throw new TypeError("fetch failed");
    });
    expect(net).toBeInstanceOf(ExecutorError);
    expect(classifyFailure(acrossStep(net))).toMatchObject({ failure: "unreachable", stageErrorKind: "unreachable" });
    for (const body of ["<html>", { jobId: 1 }]) {
      const bad = await failureOf(answering(200, body));
      expect(bad).toBeInstanceOf(NonRetryableError);
      expect(classifyFailure(acrossStep(bad))).toMatchObject({ failure: "bad_answer" });
    }
  });

  it("sends the executor secret as x-auth-token and the JobRequest as JSON", async () => {
    const seen: { url: string; headers: Headers; body: unknown }[] = [];
    const f: ExecutorFetch = async (url, init) => {
      seen.push({ url, headers: new Headers(init?.headers), body: JSON.parse(String(init?.body)) });
      return Response.json(
        {
          jobId: "j",
          jobKey: "t-x:1",
          status: "queued",
          createdAt: "now",
          startedAt: null,
          finishedAt: null,
          result: null,
        },
        { status: 202 },
      );
    };
    const view = await executorClient(CONFIG, f).submitJob({
      jobKey: "t-x:1",
      profile: "sonnet",
      prompt: "p",
      repo: "demo",
    });
    expect(view.status).toBe("queued");
    expect(seen[0]?.url).toBe("http://executor.test/jobs");
    expect(seen[0]?.headers.get("x-auth-token")).toBe("s3cret");
    expect(seen[0]?.headers.get("authorization")).toBeNull();
    expect(seen[0]?.body).toMatchObject({ jobKey: "t-x:1", profile: "sonnet" });
  });

  it("an answer for another jobKey is refused", async () => {
    const f: ExecutorFetch = async () =>
      Response.json(
        {
          jobId: "j",
          jobKey: "t-x:2",
          status: "queued",
          createdAt: "now",
          startedAt: null,
          finishedAt: null,
          result: null,
        },
        { status: 202 },
      );
    await expect(
      executorClient(CONFIG, f).submitJob({ jobKey: "t-x:1", profile: "sonnet", prompt: "p", repo: "demo" }),
    ).rejects.toThrow(/\[executor:bad_answer\]/);
  });
});

describe("retry delays", () => {
  it("Retry-After in seconds or as an HTTP date, capped at 10 min", () => {
    const now = Date.UTC(2026, 10, 24, 12);
    expect(parseRetryAfter("7", now)).toBe(7_000);
    expect(parseRetryAfter(new Date(now + 30_000).toUTCString(), now)).toBe(30_000);
    expect(parseRetryAfter("99999", now)).toBe(600_000);
    expect(parseRetryAfter(null, now)).toBe(5_000);
    expect(parseRetryAfter("soon", now)).toBe(5_000);
  });

  it("doubles from the base up to the cap, and never comes before Retry-After", () => {
    const delay = executorRetryDelay(2_000, 60_000);
    const plain = new Error("ExecutorError: [executor:server] executor error");
    expect([1, 2, 3, 6, 7, 20].map((attempt) => delay({ ctx: { attempt }, error: plain }))).toEqual([
      2_000, 4_000, 8_000, 60_000, 60_000, 60_000,
    ]);
    const busy = new Error("ExecutorError: [executor:busy] executor busy (x: y); retry after 45 s");
    expect(delay({ ctx: { attempt: 1 }, error: busy })).toBe(45_000);
    expect(delay({ ctx: { attempt: 6 }, error: busy })).toBe(60_000);
  });
});

describe("classifyFailure", () => {
  it("untagged errors (D1, bugs) are internal; tags are stripped from the message", () => {
    expect(classifyFailure(new Error("Error: D1_ERROR: no such table"))).toEqual({
      scope: "internal",
      message: "D1_ERROR: no such table",
    });
    expect(
      classifyFailure(new Error("NonRetryableError: [executor:auth] executor refused the job (HTTP 401): x")),
    ).toEqual({
      scope: "executor",
      failure: "auth",
      stageErrorKind: "auth",
      message: "executor refused the job (HTTP 401): x",
    });
    expect(classifyFailure("plain string")).toEqual({ scope: "internal", message: "plain string" });
  });
});
