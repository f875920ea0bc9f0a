/**
 * Pull requests through GitHub's REST API (Octokit; GITHUB_API_URL, so GitHub Enterprise works).
 * Opening one is idempotent: an open pull request of the same head is looked for first and updated;
 * a 422 "A pull request already exists" (a concurrent or earlier create we did not see) and a
 * create whose answer was lost (the connection dropped after GitHub made it) are followed by the
 * same look-up, so a retried delivery never opens a second one. Octokit here has no retry plugin:
 * every request is one we decided to send.
 */

import { Octokit } from "@octokit/rest";
import type { PullRequestRef } from "@vault-mcp/contract";
import { log } from "../log.ts";
import { redact } from "../remote/credentials.ts";
import { DeliveryError } from "./errors.ts";

export interface GitHubTarget {
  apiUrl: string;
  token: string;
  /** OWNER/REPO. */
  github: string;
  /** Aborts every request (the delivery's deadline). */
  signal: AbortSignal;
  /** What to tell the operator when the token is refused. */
  authHint: string;
}

interface HttpLikeError {
  status: number;
  message: string;
  response?: { headers: Record<string, string | number | undefined> };
}

function isHttpError(err: unknown): err is HttpLikeError & Error {
  return err instanceof Error && typeof (err as Partial<HttpLikeError>).status === "number";
}

function client(t: GitHubTarget): Octokit {
  const quiet = () => undefined;
  return new Octokit({
    auth: t.token,
    baseUrl: t.apiUrl,
    userAgent: "vault-executor",
    log: {
      debug: quiet,
      info: quiet,
      warn: (m: string) => log("warn", "github_warning", { message: redact(m, [t.token]) }),
      error: (m: string) => log("warn", "github_error", { message: redact(m, [t.token]) }),
    },
    request: { signal: t.signal },
  });
}

/** A failed API call as a DeliveryError: 401/403 auth, no answer or 5xx network, the rest api. */
export function fromApi(err: unknown, t: GitHubTarget, what: string): DeliveryError {
  const host = new URL(t.apiUrl).host;
  if (!isHttpError(err) || err.response === undefined || err.status >= 500) {
    const why = err instanceof Error ? err.message : String(err);
    return new DeliveryError(
      "delivery_network",
      `GitHub at ${host} did not answer ${what} (${redact(why, [t.token]).slice(0, 300)}); retry later`,
    );
  }
  const said = redact(err.message, [t.token]).slice(0, 500);
  const limited = err.response.headers["x-ratelimit-remaining"] === "0" || /rate limit/i.test(said);
  if ((err.status === 401 || err.status === 403) && !limited)
    return new DeliveryError(
      "delivery_auth",
      `GitHub refused the token for ${what} (${err.status} ${said}); ${t.authHint}`,
    );
  if (err.status === 404)
    return new DeliveryError(
      "delivery_api",
      `GitHub has no repository ${t.github} the token can see (${what}: 404); check 'github' (OWNER/REPO) and that the token may read it`,
    );
  return new DeliveryError("delivery_api", `GitHub refused ${what}: ${err.status} ${said}`);
}

const [ownerOf, repoOf] = [(g: string) => g.split("/")[0] as string, (g: string) => g.split("/")[1] as string];

async function openPrs(o: Octokit, t: GitHubTarget, branch: string): Promise<{ number: number; html_url: string }[]> {
  try {
    const { data } = await o.rest.pulls.list({
      owner: ownerOf(t.github),
      repo: repoOf(t.github),
      head: `${ownerOf(t.github)}:${branch}`,
      state: "open",
      per_page: 100,
    });
    return data.filter((p) => p.head.ref === branch);
  } catch (err) {
    throw fromApi(err, t, "the list of pull requests");
  }
}

/** Opens a pull request of `branch` into `base`, or updates the open one's title and body. */
export async function openOrUpdatePr(
  t: GitHubTarget,
  pr: { branch: string; base: string; title: string; body: string },
): Promise<PullRequestRef> {
  const o = client(t);
  const owner = ownerOf(t.github);
  const repo = repoOf(t.github);
  const update = async (n: number): Promise<PullRequestRef> => {
    try {
      const { data } = await o.rest.pulls.update({ owner, repo, pull_number: n, title: pr.title, body: pr.body });
      return { number: data.number, url: data.html_url };
    } catch (err) {
      throw fromApi(err, t, `the update of pull request #${n}`);
    }
  };
  const existing = (await openPrs(o, t, pr.branch))[0];
  if (existing) return update(existing.number);
  try {
    const { data } = await o.rest.pulls.create({
      owner,
      repo,
      head: pr.branch,
      base: pr.base,
      title: pr.title,
      body: pr.body,
    });
    log("info", "pr_opened", { github: t.github, number: data.number });
    return { number: data.number, url: data.html_url };
  } catch (err) {
    const exists = isHttpError(err) && err.status === 422 && /already exists/i.test(err.message);
    const lost = !isHttpError(err) || err.response === undefined;
    if (!exists && !lost) throw fromApi(err, t, "the creation of the pull request");
    // It may exist now: made by this very request before its answer was lost, or by another one.
    const again = (await openPrs(o, t, pr.branch))[0];
    if (again) return update(again.number);
    throw fromApi(err, t, "the creation of the pull request");
  }
}

/** Closes every open pull request of `branch`; answers their numbers. */
export async function closePrs(t: GitHubTarget, branch: string): Promise<number[]> {
  const o = client(t);
  const closed: number[] = [];
  for (const p of await openPrs(o, t, branch)) {
    try {
      await o.rest.pulls.update({
        owner: ownerOf(t.github),
        repo: repoOf(t.github),
        pull_number: p.number,
        state: "closed",
      });
    } catch (err) {
      throw fromApi(err, t, `closing pull request #${p.number}`);
    }
    closed.push(p.number);
  }
  return closed;
}
