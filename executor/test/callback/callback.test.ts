/** sendCallback against a real local HTTP server on port 0. */
import type { Server } from "node:http";
import { type JobView, verifyBody } from "@vault-mcp/contract";
import { afterEach, describe, expect, it } from "vitest";
import { backoffMs, sendCallback } from "../../src/callback.ts";
import { callbackReceiver, type Received } from "./receiver.ts";

const SECRET = "callback-secret-0123456789";
const view: JobView = {
  jobId: "j-1",
  jobKey: "t-1:1",
  status: "succeeded",
  createdAt: "2026-01-01T00:00:00.000Z",
  startedAt: null,
  finishedAt: null,
  result: null,
};

let server: Server | undefined;
afterEach(() => {
  server?.close();
  server = undefined;
});

/** Answers each request with the next status of `statuses` (the last one repeats). */
async function receiver(statuses: number[]): Promise<{ url: string; got: Received[] }> {
  const r = await callbackReceiver(statuses);
  server = r.server;
  return r;
}

describe("sendCallback", () => {
  it("POSTs the JobView as JSON with a signature the Worker verifies", async () => {
    const r = await receiver([200]);
    expect(await sendCallback(r.url, SECRET, view)).toEqual({ ok: true, attempts: 1 });
    const [only] = r.got;
    expect(JSON.parse(only?.body ?? "")).toEqual(view);
    expect(only?.type).toBe("application/json");
    expect(await verifyBody(SECRET, only?.body ?? "", only?.sig ?? null)).toBe(true);
    expect(await verifyBody(SECRET, `${only?.body} `, only?.sig ?? null)).toBe(false);
  });

  it("retries 5xx, 408 and 429 and stops at the first success, each attempt freshly signed", async () => {
    const r = await receiver([500, 503, 429, 408, 200]);
    expect(await sendCallback(r.url, SECRET, view, { baseDelayMs: 5 })).toEqual({ ok: true, attempts: 5 });
    expect(r.got).toHaveLength(5);
    for (const g of r.got) expect(await verifyBody(SECRET, g.body, g.sig)).toBe(true);
  });

  it("ends without an acknowledgement only when the Worker says the task no longer wants it (404, 409, 410)", async () => {
    for (const status of [404, 409, 410]) {
      const r = await receiver([status]);
      expect(await sendCallback(r.url, SECRET, view, { baseDelayMs: 5 })).toEqual({
        ok: false,
        attempts: 1,
        reason: "unwanted",
        status,
      });
      server?.close();
    }
  });

  it("keeps retrying every other refusal (a secret being rotated, a contract a deploy will fix) until it is acknowledged", async () => {
    const r = await receiver([401, 400, 413, 422, 403, 500, 202]);
    expect(await sendCallback(r.url, SECRET, view, { baseDelayMs: 5 })).toEqual({ ok: true, attempts: 7 });
  });

  it("outlives an endpoint that is down for longer than six tries: the callback arrives once it comes up", async () => {
    // A port with nothing behind it, then a receiver on that very port after ten refused tries.
    const closed = await receiver([200]);
    server?.close();
    const port = Number(new URL(closed.url).port);
    const refused: number[] = [];
    const opts = {
      baseDelayMs: 5,
      maxDelayMs: 40,
      timeoutMs: 500,
      fetch: async (input: string | URL | Request, init?: RequestInit) => {
        try {
          return await fetch(input, init);
        } catch (err) {
          refused.push(Date.now());
          throw err;
        }
      },
    };
    const sent = sendCallback(closed.url, SECRET, view, opts);
    while (refused.length < 10) await new Promise((res) => setTimeout(res, 5));
    const up = await callbackReceiver([200], port);
    server = up.server;
    expect(await sent).toMatchObject({ ok: true });
    expect(up.got).toHaveLength(1);
    expect(await verifyBody(SECRET, up.got[0]?.body ?? "", up.got[0]?.sig ?? null)).toBe(true);
  });

  it("stops when its signal fires (shutdown), reporting `stopped` so the callback stays owed", async () => {
    const r = await receiver([500]);
    const ac = new AbortController();
    const p = sendCallback(r.url, SECRET, view, { baseDelayMs: 60_000, signal: ac.signal });
    while (r.got.length === 0) await new Promise((res) => setTimeout(res, 5));
    ac.abort();
    expect(await p).toEqual({ ok: false, attempts: 1, reason: "stopped" });
  });

  it("backs off exponentially with ±25 % jitter, capped: 2, 4, 8, 16, 32, then 60 s by default", () => {
    const half = () => 0.5;
    expect([1, 2, 3, 4, 5, 6, 7, 500].map((i) => backoffMs(i, 2_000, 60_000, half))).toEqual([
      2_000, 4_000, 8_000, 16_000, 32_000, 60_000, 60_000, 60_000,
    ]);
    expect(backoffMs(1, 2_000, 60_000, () => 0)).toBe(1_500);
    expect(backoffMs(1, 2_000, 60_000, () => 1)).toBe(2_500);
  });
});
