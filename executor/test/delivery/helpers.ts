/**
 * An executor (in-process, port 0) whose repo `app` is registered by URL on a real git remote over
 * smart HTTP (test/git-remote), with GIT_CREDENTIALS holding that remote's token and GITHUB_API_URL
 * pointing at the GitHub stand-in (test/github-standin), which resolves branches from that remote.
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { JobView, type RepoSource } from "@vault-mcp/contract";
import { type GitRemote, startGitRemote } from "../../../test/git-remote/server.ts";
import { type GitHubStandin, startGitHubStandin } from "../../../test/github-standin/server.ts";
import type { Executor, ExecutorOverrides } from "../../src/executor.ts";
import { type Harness, harness, job, post, SECRET, start } from "../server/harness.ts";

export const TOKEN = "ghp_standinToken0123456789abcdefABCDEF";
export const OWNER = "octo-org";

export interface DeliveryEnv {
  remote: GitRemote;
  gh: GitHubStandin;
  h: Harness;
  ex: Executor;
  url: string;
  /** The GIT_CREDENTIALS file. */
  credentials: string;
  source: RepoSource;
  /** Rewrites the credentials file with `token` for the remote. */
  writeCredentials(token: string): void;
  /** POST /execute of a job on `app` with its source; the finished JobView. */
  run(prompt: string, over?: Record<string, unknown>): Promise<JobView>;
  deliver(jobId: string, body: unknown): Promise<Response>;
  discard(jobId: string, body: unknown): Promise<Response>;
  diff(jobId: string, query?: string): Promise<Response>;
  cleanup(): Promise<void>;
}

export async function deliveryEnv(
  opts: { env?: Record<string, string>; overrides?: ExecutorOverrides; files?: Record<string, string> } = {},
): Promise<DeliveryEnv> {
  const remote = await startGitRemote({ token: TOKEN });
  remote.createRepo("app", opts.files ?? { "README.md": "# app\n" });
  const gh = await startGitHubStandin({ token: TOKEN, branchSha: (_o, repo, branch) => remote.sha(repo, branch) });
  const secrets = mkdtempSync(path.join(os.tmpdir(), "vault-creds-"));
  const credentials = path.join(secrets, "git-credentials");
  const writeCredentials = (token: string) => {
    writeFileSync(credentials, `${remote.credentialLine(token)}\n`);
    chmodSync(credentials, 0o600);
  };
  writeCredentials(TOKEN);
  const h = harness({ GIT_CREDENTIALS: credentials, GITHUB_API_URL: gh.url, ...opts.env });
  const { ex, url } = await start(h, opts.overrides);
  const source: RepoSource = { url: remote.repoUrl("app"), defaultBranch: "main" };
  const call = (method: string, p: string, body?: unknown) =>
    fetch(`${url}${p}`, {
      method,
      headers: { "x-auth-token": SECRET, ...(body !== undefined ? { "content-type": "application/json" } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
  return {
    remote,
    gh,
    h,
    ex,
    url,
    credentials,
    source,
    writeCredentials,
    async run(prompt, over = {}) {
      const res = await post(`${url}/execute`, job({ repo: "app", source, prompt, ...over }));
      return JobView.parse(await res.json());
    },
    deliver: (jobId, body) => call("POST", `/jobs/${jobId}/deliver`, body),
    discard: (jobId, body) => call("POST", `/jobs/${jobId}/discard`, body),
    diff: (jobId, query = "") => call("GET", `/jobs/${jobId}/diff${query}`),
    async cleanup() {
      await ex.shutdown();
      await ex.runner.settle();
      await remote.close();
      h.cleanup();
      rmSync(secrets, { recursive: true, force: true });
      await gh.close();
    },
  };
}

export const prBody = (branch: string, title = "Add hello.txt") => ({
  branch,
  mode: "pr",
  pr: { github: `${OWNER}/app`, title, body: `Task ${branch}\n\nflowchart LR` },
});
