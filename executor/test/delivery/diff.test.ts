/**
 * GET /jobs/:id/diff: the pages of a job's diff, concatenated, are exactly `git diff <base> <commit>`
 * as plain git prints it; each page is at most 64 KB; the diffstat comes first; binary files are
 * named, not dumped; a consensus job has two sides.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { DiffPage, MAX_DIFF_PAGE_BYTES, WireError } from "@vault-mcp/contract";
import { afterEach, describe, expect, it } from "vitest";
import { pageEnd } from "../../src/delivery/diff.ts";
import { consensusProfiles, job, post } from "../server/harness.ts";
import { type DeliveryEnv, deliveryEnv } from "./helpers.ts";

let env: DeliveryEnv | undefined;
afterEach(async () => {
  await env?.cleanup();
  env = undefined;
});

async function allPages(e: DeliveryEnv, jobId: string, side = "a"): Promise<DiffPage[]> {
  const pages: DiffPage[] = [];
  let cursor: string | null = null;
  do {
    const q: string = `?side=${side}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`;
    const res = await e.diff(jobId, q);
    expect(res.status, await res.clone().text()).toBe(200);
    const page = DiffPage.parse(await res.json());
    pages.push(page);
    cursor = page.cursor;
  } while (cursor !== null && pages.length < 100);
  return pages;
}

describe("diff", () => {
  it("the pages add up to the whole diff, each at most 64 KB, the diffstat first, a binary file named not dumped", async () => {
    env = await deliveryEnv({ files: { "README.md": "# app\n", "old.txt": "going away\n" } });
    const view = await env.run("lines:big.txt:20000 binary:blob.bin write:hello.txt");
    expect(view.status).toBe("succeeded");
    const pages = await allPages(env, view.jobId);
    expect(pages.length).toBeGreaterThan(3);
    const whole = pages.map((p) => p.text).join("");
    const repo = path.join(env.h.dir, "repos", "app");
    const base = view.result?.base?.commit as string;
    const commit = view.result?.commit as string;
    const plain = execFileSync("git", ["-C", repo, "diff", "--no-color", base, commit], {
      encoding: "utf8",
      maxBuffer: 64 * 1024 * 1024,
    });
    expect(whole).toBe(plain);
    for (const p of pages) expect(Buffer.byteLength(p.text)).toBeLessThanOrEqual(MAX_DIFF_PAGE_BYTES);
    for (const p of pages.slice(0, -1)) expect(p.text.endsWith("\n")).toBe(true);
    expect(pages[0]?.stat).toEqual({
      files: [
        { path: "big.txt", added: 20000, deleted: 0 },
        { path: "blob.bin", added: null, deleted: null },
        { path: "hello.txt", added: 1, deleted: 0 },
      ],
      added: 20001,
      deleted: 0,
    });
    expect(pages.slice(1).every((p) => p.stat === null)).toBe(true);
    expect(whole).toContain("Binary files /dev/null and b/blob.bin differ");
    expect(whole).toContain("+line 7 é中🙂");
    expect(pages.every((p) => p.base === base && p.commit === commit && !p.truncated)).toBe(true);
  });

  it("a cursor is bound to its diff: garbage or another side's cursor is a 400", async () => {
    env = await deliveryEnv();
    const view = await env.run("lines:big.txt:20000");
    const first = DiffPage.parse(await (await env.diff(view.jobId)).json());
    expect(first.cursor).not.toBeNull();
    const other = await env.run("lines:other.txt:20000");
    for (const q of [
      `?cursor=${first.cursor}&side=b`,
      "?cursor=nonsense",
      `?cursor=${encodeURIComponent(String(first.cursor))}x`,
    ]) {
      const res = await env.diff(other.jobId, q);
      expect(res.status, q).toBe(400);
      expect(["bad_cursor", "invalid_input"]).toContain(WireError.parse(await res.json()).error.code);
    }
    const cross = await env.diff(other.jobId, `?cursor=${encodeURIComponent(String(first.cursor))}`);
    expect(WireError.parse(await cross.json()).error.code).toBe("bad_cursor");
  });

  it("a job that changed nothing has an empty diff; a job on a repo placed by hand has one too", async () => {
    env = await deliveryEnv();
    const nothing = await env.run("sleep:1");
    const page = DiffPage.parse(await (await env.diff(nothing.jobId)).json());
    expect(page).toMatchObject({ commit: null, text: "", cursor: null, stat: { files: [], added: 0, deleted: 0 } });
    const res = await post(`${env.url}/execute`, job({ repo: "demo", prompt: "write:hello.txt" }));
    const byHand = (await res.json()) as { jobId: string; result: { base: unknown } };
    expect(byHand.result.base).toMatchObject({ ref: "HEAD", fetchedAt: null, fresh: false });
    const p2 = DiffPage.parse(await (await env.diff(byHand.jobId)).json());
    expect(p2.text).toContain("+++ b/hello.txt");
    expect((await env.diff(byHand.jobId, "?side=b")).status).toBe(400);
    expect((await env.diff("j-none")).status).toBe(404);
  });

  it("consensus: side a and side b are each side's own diff against the one base", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "vault-profiles-"));
    const file = consensusProfiles(dir);
    try {
      env = await deliveryEnv({ env: { PROFILES_FILE: file } });
      const view = await env.run("model:side.txt", { profile: "consensus" });
      expect(view.result?.runB).toBeDefined();
      const [a] = await allPages(env, view.jobId, "a");
      const [b] = await allPages(env, view.jobId, "b");
      expect(a?.text).toContain("+sonnet");
      expect(b?.text).toContain("+opus");
      expect(a?.base).toBe(b?.base);
      expect(b?.commit).not.toBe(a?.commit);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("pageEnd", () => {
  it("cuts after a newline when one fits, else on a UTF-8 boundary; the pieces are the whole", () => {
    const text = `${"a".repeat(10)}\n${"é中🙂".repeat(50)}\nend`;
    const buf = Buffer.from(text);
    for (const limit of [5, 7, 11, 13, 16, 40]) {
      const pieces: string[] = [];
      for (let from = 0; from < buf.length; ) {
        const end = pageEnd(buf, from, limit);
        expect(end - from).toBeLessThanOrEqual(limit);
        expect(end).toBeGreaterThan(from);
        pieces.push(buf.subarray(from, end).toString("utf8"));
        from = end;
      }
      expect(pieces.join("")).toBe(text);
      expect(pieces.join("")).not.toContain("\ufffd");
    }
  });
});
