/**
 * Repos registered by URL (`vault repos add`, `POST /api/repos`, the `repos` tool): what a task may
 * name, where the executor clones it from, and where its work goes (`deliver`, `github`). A task
 * naming a repo that is not registered runs on a repo placed on the executor by hand
 * (REPO_ALLOWLIST), as before: no source is sent, nothing is delivered.
 */
import {
  DeliverSetting,
  GitHubRepoName,
  GitRef,
  RemoteUrl,
  type RepoList,
  RepoName,
  type RepoRemoved,
  type RepoSaved,
  type RepoView,
} from "@vault-mcp/contract";
import { asc, eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { z } from "zod";
import { AppError } from "../../core/errors.ts";
import { type RepoRow, repos } from "../../schema/index.ts";
import type { ExecuteParams } from "../../workflows/params.ts";

/** `OWNER/REPO` of a github.com URL (`https://github.com/o/r(.git)`); null for any other host. */
export function githubOf(url: string): string | null {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return null;
  }
  if (u.hostname !== "github.com" && u.hostname !== "www.github.com") return null;
  const m = /^\/([^/]+)\/([^/]+?)(?:\.git)?\/?$/.exec(u.pathname);
  const name = m ? `${m[1]}/${m[2]}` : "";
  return GitHubRepoName.safeParse(name).success ? name : null;
}

const PR_NEEDS_GITHUB =
  "deliver 'pr' needs github: OWNER/REPO (where the pull request is opened) for a URL that is not on github.com";

/** The fields of `repos add`; `RepoInput` adds the check that ties them. */
export const RepoFields = z.strictObject({
  name: RepoName.describe("The name tasks use as `repo`, e.g. 'app' (letters, digits, . _ -)."),
  url: RemoteUrl.describe(
    "https URL of the repository, without a user or token (the executor's GIT_CREDENTIALS holds those), e.g. 'https://github.com/OWNER/REPO.git'.",
  ),
  defaultBranch: GitRef.default("main").describe(
    "The branch fetched before each job and the pull requests' base (default main).",
  ),
  deliver: DeliverSetting.default("none").describe(
    "What happens to a succeeded task's work by default: none (stays on the executor), push (branch vault/<taskId>), pr (push and open a pull request).",
  ),
  github: GitHubRepoName.optional().describe(
    "OWNER/REPO for pull requests; derived from a github.com URL, required for deliver 'pr' on any other host.",
  ),
});

/** `deliver: pr` needs somewhere to open the pull request. */
export function prHasGithub(
  r: { url: string; deliver: string; github?: string | undefined },
  ctx: z.RefinementCtx,
): void {
  if (r.deliver === "pr" && r.github === undefined && githubOf(r.url) === null)
    ctx.addIssue({ code: "custom", path: ["github"], message: PR_NEEDS_GITHUB });
}

/** `repos add` and `POST /api/repos`: one schema for both surfaces. */
export const RepoInput = RepoFields.superRefine(prHasGithub);
export type RepoInput = z.infer<typeof RepoInput>;

export const RepoNameInput = z.strictObject({ name: RepoName.describe("A registered repo's name.") });

export function repoView(r: RepoRow): RepoView {
  return {
    name: r.name,
    url: r.url,
    defaultBranch: r.defaultBranch,
    deliver: r.deliver,
    github: r.github,
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
  };
}

/**
 * Registers a repo, or updates the one of that name (a repeated `repos add` is how its URL, branch
 * or delivery change; tasks already started keep what they started with). One statement.
 */
export async function saveRepo(db: D1Database, input: RepoInput, now: number): Promise<RepoSaved> {
  const fields = {
    url: input.url,
    defaultBranch: input.defaultBranch,
    deliver: input.deliver,
    github: input.github ?? githubOf(input.url),
    updatedAt: now,
  };
  const [row] = await drizzle(db)
    .insert(repos)
    .values({ name: input.name, ...fields, createdAt: now })
    .onConflictDoUpdate({ target: repos.name, set: fields })
    .returning();
  if (!row) throw new AppError("internal", `repo '${input.name}' was not saved`);
  return { repo: repoView(row), created: row.createdAt === now };
}

export async function listRepos(db: D1Database): Promise<RepoList> {
  const rows = await drizzle(db).select().from(repos).orderBy(asc(repos.name));
  return { repos: rows.map(repoView) };
}

/** Forgets a repo; its tasks keep their rows, and the executor keeps its clone. */
export async function removeRepo(db: D1Database, name: string): Promise<RepoRemoved> {
  const gone = await drizzle(db).delete(repos).where(eq(repos.name, name)).returning({ name: repos.name });
  return { name, removed: gone.length > 0 };
}

export async function findRepo(db: D1Database, name: string): Promise<RepoRow | null> {
  const [row] = await drizzle(db).select().from(repos).where(eq(repos.name, name)).limit(1);
  return row ?? null;
}

/** What a task starting on `repo` sends and delivers: its source, and its delivery (none: absent). */
export interface RepoPlan {
  deliver: DeliverSetting;
  source?: NonNullable<ExecuteParams["source"]>;
  delivery?: NonNullable<ExecuteParams["delivery"]>;
}

/**
 * The task's delivery: `asked` (the task's own `deliver`), else the repo's default. A repo that is
 * not registered can only run as placed by hand, without delivery; `pr` needs a GitHub repository.
 */
export async function repoPlan(
  db: D1Database,
  repo: string,
  asked: DeliverSetting | null | undefined,
): Promise<RepoPlan> {
  const row = await findRepo(db, repo);
  if (!row) {
    if (asked && asked !== "none")
      throw new AppError(
        "invalid_input",
        `deliver '${asked}' needs a repo registered by URL, and '${repo}' is not: register it with 'vault repos add ${repo} <URL>' (POST /api/repos), or leave deliver out`,
      );
    return { deliver: "none" };
  }
  const deliver = asked ?? row.deliver;
  const source = { url: row.url, defaultBranch: row.defaultBranch };
  if (deliver === "none") return { deliver, source };
  if (deliver === "pr" && !row.github)
    throw new AppError(
      "invalid_input",
      `repo '${repo}' has no github OWNER/REPO, which deliver 'pr' needs: set it with 'vault repos add ${repo} ${row.url} --github OWNER/REPO', or deliver 'push'`,
    );
  return {
    deliver,
    source,
    delivery: { mode: deliver, ...(deliver === "pr" && row.github ? { github: row.github } : {}) },
  };
}
