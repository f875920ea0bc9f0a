/**
 * POST /jobs/:id/deliver and /discard: the job's commit pushed to `vault/<taskId>` on the remote of
 * its repo's source, then (mode `pr`) a pull request opened or updated; or that pull request closed
 * and that branch deleted. Synchronous and bounded by DELIVERY_TIMEOUT_MS; one delivery per branch
 * at a time. Only a succeeded job with a commit, of a repo registered by URL, is delivered.
 */
import type {
  DeliverRequest,
  DeliverResult,
  DiscardRequest,
  DiscardResult,
  JobRequest,
  RepoSource,
} from "@vault-mcp/contract";
import type { ExecutorConfig } from "../config.ts";
import type { JobRecord, JobStore } from "../jobs/store.ts";
import { log } from "../log.ts";
import { credentialForUrl } from "../remote/credentials.ts";
import { deleteBranch, pushBranch, type RemoteTarget } from "./branch.ts";
import { credentialsHint, DeliveryError } from "./errors.ts";
import { closePrs, type GitHubTarget, openOrUpdatePr } from "./github.ts";

export type DeliveryConfig = Pick<ExecutorConfig, "GIT_CREDENTIALS" | "GITHUB_API_URL" | "DELIVERY_TIMEOUT_MS">;

export interface DeliveryDeps {
  config: DeliveryConfig;
  store: JobStore;
  /** The repo's directory (the worktree manager's repoPath). */
  repoPath: (repo: string) => Promise<string>;
}

export class NotFoundError extends Error {
  override readonly name = "NotFoundError";
}

type SourcedRequest = JobRequest & { source: RepoSource };

export class Delivery {
  readonly #d: DeliveryDeps;
  readonly #locks = new Map<string, Promise<unknown>>();

  constructor(deps: DeliveryDeps) {
    this.#d = deps;
  }

  async deliver(jobId: string, body: DeliverRequest): Promise<DeliverResult> {
    const rec = this.#job(jobId);
    const req = this.#sourced(rec, "delivered");
    const commit = rec.result?.commit ?? null;
    if (rec.status !== "succeeded" || commit === null)
      throw new DeliveryError(
        "not_deliverable",
        rec.status !== "succeeded"
          ? `job ${jobId} is ${rec.status}: only a succeeded job is delivered`
          : `job ${jobId} changed no file: there is no commit to deliver`,
      );
    this.#checkBranch(body.branch, req.source);
    return this.#withDeadline(req.repo, body.branch, async (signal, remaining) => {
      const target = await this.#target(req, remaining);
      await pushBranch(target, body.branch, commit);
      log("info", "delivery_pushed", { jobId, branch: body.branch, commit });
      if (body.mode === "push" || body.pr === undefined) return { branch: body.branch, commit, pushed: true, pr: null };
      const pr = await openOrUpdatePr(this.#github(req.source, body.pr.github, signal), {
        branch: body.branch,
        base: body.pr.base ?? req.source.defaultBranch,
        title: body.pr.title,
        body: body.pr.body,
      });
      log("info", "delivery_pr", { jobId, branch: body.branch, number: pr.number });
      return { branch: body.branch, commit, pushed: true, pr };
    });
  }

  async discard(jobId: string, body: DiscardRequest): Promise<DiscardResult> {
    const req = this.#sourced(this.#job(jobId), "discarded");
    this.#checkBranch(body.branch, req.source);
    return this.#withDeadline(req.repo, body.branch, async (signal, remaining) => {
      // The pull request first: closed by us, with the branch still there to look at.
      const prsClosed = body.github ? await closePrs(this.#github(req.source, body.github, signal), body.branch) : [];
      const branchDeleted = await deleteBranch(await this.#target(req, remaining), body.branch);
      log("info", "delivery_discarded", { jobId, branch: body.branch, branchDeleted, prsClosed });
      return { branch: body.branch, branchDeleted, prsClosed };
    });
  }

  #job(jobId: string): JobRecord {
    const rec = this.#d.store.get(jobId);
    if (!rec) throw new NotFoundError(`no job '${jobId}' on this executor`);
    return rec;
  }

  #sourced(rec: JobRecord, what: string): SourcedRequest {
    const req = rec.request;
    if (!req.source)
      throw new DeliveryError(
        "not_deliverable",
        `job ${rec.id} ran on repo '${req.repo}', which has no source URL: only the work of a repo registered by URL is ${what}`,
      );
    return req as SourcedRequest;
  }

  #checkBranch(branch: string, source: RepoSource): void {
    if (branch === source.defaultBranch)
      throw new DeliveryError(
        "not_deliverable",
        `'${branch}' is the repo's default branch: the executor never pushes to it`,
      );
  }

  async #target(req: SourcedRequest, timeoutMs: () => number): Promise<RemoteTarget> {
    return {
      repoDir: await this.#d.repoPath(req.repo),
      url: req.source.url,
      credentialsFile: this.#d.config.GIT_CREDENTIALS,
      get timeoutMs() {
        return timeoutMs();
      },
    };
  }

  #github(source: RepoSource, github: string, signal: AbortSignal): GitHubTarget {
    const file = this.#d.config.GIT_CREDENTIALS;
    let cred: ReturnType<typeof credentialForUrl>;
    try {
      cred = credentialForUrl(file, source.url);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? String(err);
      throw new DeliveryError(
        "delivery_auth",
        `the executor cannot read GIT_CREDENTIALS ${file} (${code}): make it readable by its user (mode 0600)`,
      );
    }
    if (!cred) {
      throw new DeliveryError(
        "delivery_auth",
        `GIT_CREDENTIALS has no credential for ${new URL(source.url).host}, whose token opens pull requests; ${credentialsHint(source.url, file)}`,
      );
    }
    return {
      apiUrl: this.#d.config.GITHUB_API_URL,
      token: cred.password,
      github,
      signal,
      authHint: credentialsHint(source.url, file),
    };
  }

  /**
   * One delivery per (repo, branch) at a time, all of it within DELIVERY_TIMEOUT_MS: API calls see
   * the signal, each git command gets what is left.
   */
  #withDeadline<T>(
    repo: string,
    branch: string,
    fn: (signal: AbortSignal, remaining: () => number) => Promise<T>,
  ): Promise<T> {
    const key = `${repo}\u0000${branch}`;
    const run = () => {
      const ms = this.#d.config.DELIVERY_TIMEOUT_MS;
      const deadline = Date.now() + ms;
      return fn(AbortSignal.timeout(ms), () => Math.max(1_000, deadline - Date.now()));
    };
    const next = (this.#locks.get(key) ?? Promise.resolve()).then(run, run);
    const settled = next.catch(() => undefined);
    this.#locks.set(key, settled);
    void settled.then(() => {
      if (this.#locks.get(key) === settled) this.#locks.delete(key);
    });
    return next;
  }
}
