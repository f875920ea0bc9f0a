/**
 * The stand-in's pull requests, kept in memory, and their JSON as GitHub answers it: the description's
 * own example of a pull request (pulls/get, and pulls/list's item) with this one's fields written in.
 * The server validates every answer against the description, so a field missing here fails loudly.
 */

export interface StandinPull {
  number: number;
  owner: string;
  repo: string;
  state: "open" | "closed";
  title: string;
  body: string | null;
  /** The head branch (same repository). */
  head: string;
  headSha: string;
  base: string;
  baseSha: string;
  draft: boolean;
  createdAt: string;
  updatedAt: string;
  closedAt: string | null;
}

type Json = Record<string, unknown>;

const clone = <T>(v: T): T => structuredClone(v);

function side(template: unknown, p: StandinPull, ref: string, sha: string): Json {
  const s = clone((template ?? {}) as Json);
  const repo = clone((s.repo ?? {}) as Json);
  const owner = { ...((repo.owner ?? {}) as Json), login: p.owner };
  Object.assign(repo, { name: p.repo, full_name: `${p.owner}/${p.repo}`, owner, default_branch: p.base });
  return { ...s, label: `${p.owner}:${ref}`, ref, sha, repo, user: owner };
}

/**
 * `template` is GitHub's example of the same schema (pull-request for get/create/update,
 * pull-request-simple for list); `api` the stand-in's base URL, for the `url` fields.
 */
export function pullJson(template: Json, p: StandinPull, api: string): Json {
  const o = clone(template);
  const url = `${api}/repos/${p.owner}/${p.repo}/pulls/${p.number}`;
  const html = `${api}/${p.owner}/${p.repo}/pull/${p.number}`;
  Object.assign(o, {
    id: 1_000_000 + p.number,
    node_id: `PR_standin${p.number}`,
    number: p.number,
    state: p.state,
    locked: false,
    title: p.title,
    body: p.body,
    url,
    html_url: html,
    diff_url: `${html}.diff`,
    patch_url: `${html}.patch`,
    issue_url: `${api}/repos/${p.owner}/${p.repo}/issues/${p.number}`,
    commits_url: `${url}/commits`,
    review_comments_url: `${url}/comments`,
    comments_url: `${api}/repos/${p.owner}/${p.repo}/issues/${p.number}/comments`,
    statuses_url: `${api}/repos/${p.owner}/${p.repo}/statuses/${p.headSha}`,
    created_at: p.createdAt,
    updated_at: p.updatedAt,
    closed_at: p.closedAt,
    merged_at: null,
    merge_commit_sha: null,
    draft: p.draft,
    assignee: null,
    assignees: [],
    requested_reviewers: [],
    // GitHub's example team lacks a field its own schema requires: none are requested here.
    requested_teams: [],
    labels: [],
    milestone: null,
    head: side(o.head, p, p.head, p.headSha),
    base: side(o.base, p, p.base, p.baseSha),
  });
  if ("merged" in o) Object.assign(o, { merged: false, mergeable: null, mergeable_state: "unknown", merged_by: null });
  return o;
}
