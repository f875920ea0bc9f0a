/** The executor client's failure classes, Retry-After, and how a step answers a final failure as data. */
import { describe, expect, it } from "vitest";
import { ExecutorError, type ExecutorFetch, executorClient, executorStep } from "../../workflows/executor-client.ts";
import { executorRetryDelay, parseRetryAfter } from "../../workflows/retry-delay.ts";

const CONFIG = { executorUrl: "http://executor.test", executorSecret: "s3cret" };

function answering(
  status: number,
  body: unknown = { error: { code: "x", message: "nope" } },
  headers: Record<string, string> = {},
): ExecutorFetch {
  return async () => new Response(typeof body === "string" ? body : JSON.stringify(body), { status, headers });
}

async function failureOf(f: ExecutorFetch): Promise<ExecutorError> {
  return executorClient(CONFIG, f)
    .getJob("job-1")
    .then(
      () => {
        throw new Error("expected a failure");
      },
      (err: unknown) => {
        if (!(err instanceof ExecutorError)) throw err;
        return err;
      },
    );
}

describe("executor client", () => {
  for (const status of [400, 401, 403, 404, 413, 422]) {
    it(`HTTP ${status} is final`, async () => {
      const err = await failureOf(answering(status));
      expect(err).toMatchObject({ retryable: false, failure: status === 401 || status === 403 ? "auth" : "refused" });
      expect(err.message).toContain(`HTTP ${status}`);
      expect(err.message).not.toContain("s3cret");
    });
  }

  for (const [status, failure] of [
    [429, "busy"],
    [500, "server"],
    [502, "server"],
    [503, "server"],
  ] as const) {
    it(`HTTP ${status} is retryable ('${failure}')`, async () => {
      const err = await failureOf(answering(status, "oops", { "retry-after": "7" }));
      expect(err).toMatchObject({ retryable: true, failure, retryAfterMs: status === 429 ? 7_000 : null });
    });
  }

  it("a network error is retried ('unreachable'); a non-JSON or off-contract 200 is final ('bad_answer')", async () => {
    const net = await failureOf(async () => {
      throw new TypeError("fetch failed");
    });
    expect(net).toMatchObject({ retryable: true, failure: "unreachable" });
    for (const body of ["<html>", { jobId: 1 }]) {
      expect(await failureOf(answering(200, body))).toMatchObject({ retryable: false, failure: "bad_answer" });
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
    ).rejects.toMatchObject({ failure: "bad_answer", retryable: false });
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
    const plain = new ExecutorError("server", "executor error", true);
    expect([1, 2, 3, 6, 7, 20].map((attempt) => delay({ ctx: { attempt }, error: plain }))).toEqual([
      2_000, 4_000, 8_000, 60_000, 60_000, 60_000,
    ]);
    const busy = new ExecutorError("busy", "executor busy", true, 45_000);
    expect(delay({ ctx: { attempt: 1 }, error: busy })).toBe(45_000);
    expect(delay({ ctx: { attempt: 6 }, error: busy })).toBe(60_000);
    // The engine may pass a copy that lost its class: the message still carries the wait.
    const copied = new Error("executor busy (x: y); retry after 45 s");
    expect(delay({ ctx: { attempt: 1 }, error: copied })).toBe(45_000);
  });
});

describe("executorStep", () => {
  const ctx = (attempt: number) => ({ attempt, config: { retries: { limit: 2 } } });
  const failing = (err: Error) => async (): Promise<{ jobId: string }> => {
    throw err;
  };

  it("passes a success through, tagged ok", async () => {
    expect(await executorStep(ctx(1), async () => ({ jobId: "j" }))).toEqual({ ok: true, value: { jobId: "j" } });
  });

  it("throws a retryable failure while tries are left, and answers it as data on the last try", async () => {
    const busy = new ExecutorError("busy", "executor busy", true, 1_000);
    await expect(executorStep(ctx(1), failing(busy))).rejects.toBe(busy);
    await expect(executorStep(ctx(2), failing(busy))).rejects.toBe(busy);
    expect(await executorStep(ctx(3), failing(busy))).toEqual({ ok: false, kind: "busy", message: "executor busy" });
  });

  it("answers a final failure as data at once", async () => {
    const refused = new ExecutorError("refused", "executor refused POST /jobs (HTTP 422)", false);
    expect(await executorStep(ctx(1), failing(refused))).toMatchObject({ ok: false, kind: "refused" });
  });

  it("rethrows anything that is not an executor failure (D1, a bug), even on the last try", async () => {
    const d1 = new Error("D1_ERROR: no such table");
    await expect(executorStep(ctx(3), failing(d1))).rejects.toBe(d1);
  });
});
