import {
  DeliverSetting,
  GitHubRepoName,
  GitRef,
  RemoteUrl,
  RepoList,
  RepoName,
  RepoRemoved,
  RepoSaved,
  type RepoView,
} from "@vault-mcp/contract";
import { schemaValue as checked, noPositionals, parseFlags, UsageError } from "../args.ts";
import { type Command, connect } from "../command.ts";
import { age, table } from "../format.ts";

function repoLine(r: RepoView): string {
  return `${r.name}: ${r.url} · branch ${r.defaultBranch} · deliver ${r.deliver}${r.github ? ` (${r.github})` : ""}`;
}

export const reposAdd: Command = {
  name: "repos add",
  summary: "Register a repo by URL (or update it): tasks may then name it, and its work is delivered.",
  about: `The executor clones the URL once (as its own user) and fetches the default branch before each
job; its credentials live only on the executor (GIT_CREDENTIALS), never in the URL. --deliver is what
happens to a succeeded task's work unless the task says otherwise: none (it stays on the executor),
push (branch vault/<taskId>), pr (push, then a pull request). --github is derived from a github.com
URL; give it for a pull request on another host (GitHub Enterprise). Adding a name again updates it.`,
  usage: ["repos add <name> <url> [--branch main] [--deliver none|push|pr] [--github OWNER/REPO] [--json]"],
  flags: `  --branch <branch>     the default branch: fetched before each job, the pull requests' base (main)
  --deliver <mode>      none, push or pr (default none)
  --github OWNER/REPO   where pull requests are opened (default: from a github.com URL)
  --json                the API's answer as JSON: {repo, created}`,
  examples: [
    "vault repos add app https://github.com/octo-org/app.git --deliver pr",
    "vault repos add svc https://git.example.com/team/svc.git --branch trunk --deliver pr --github team/svc",
  ],
  async run(args, io) {
    const { values, positionals } = parseFlags(args, {
      branch: { type: "string" },
      deliver: { type: "string" },
      github: { type: "string" },
      json: { type: "boolean" },
    });
    const [name, url, ...extra] = positionals;
    if (name === undefined || url === undefined) throw new UsageError("give a name and a URL");
    noPositionals(extra);
    const body = {
      name: checked("name", RepoName, name),
      url: checked("url", RemoteUrl, url),
      ...(values.branch !== undefined ? { defaultBranch: checked("--branch", GitRef, values.branch) } : {}),
      ...(values.deliver !== undefined ? { deliver: checked("--deliver", DeliverSetting, values.deliver) } : {}),
      ...(values.github !== undefined ? { github: checked("--github", GitHubRepoName, values.github) } : {}),
    };
    const saved = await connect(values, io).post("/api/repos", body, RepoSaved);
    if (values.json) io.out(JSON.stringify(saved, null, 2));
    else io.out(`${saved.created ? "added" : "updated"} ${repoLine(saved.repo)}`);
    return 0;
  },
};

export const reposList: Command = {
  name: "repos list",
  summary: "The repos registered by URL, with their default branch and delivery.",
  about: `Repos placed on the executor by hand (its REPO_ALLOWLIST) can be named by tasks too; they are not
listed here and deliver nothing.`,
  usage: ["repos list [--json]"],
  flags: "  --json  the API's answer as JSON: {repos}",
  examples: ["vault repos list"],
  async run(args, io) {
    const { values, positionals } = parseFlags(args, { json: { type: "boolean" } });
    noPositionals(positionals);
    const list = await connect(values, io).get("/api/repos", RepoList);
    if (values.json) io.out(JSON.stringify(list, null, 2));
    else if (list.repos.length === 0) io.out("no repo registered by URL; add one with vault repos add <name> <url>");
    else
      io.out(
        table(
          ["NAME", "URL", "BRANCH", "DELIVER", "GITHUB", "UPDATED"],
          list.repos.map((r) => [
            r.name,
            r.url,
            r.defaultBranch,
            r.deliver,
            r.github ?? "",
            age(r.updatedAt, io.now()),
          ]),
        ),
      );
    return 0;
  },
};

export const reposRemove: Command = {
  name: "repos remove",
  summary: "Forget a registered repo (its tasks stay; the executor keeps its clone).",
  usage: ["repos remove <name> [--json]"],
  flags: "  --json  the API's answer as JSON: {name, removed}",
  examples: ["vault repos remove app"],
  async run(args, io) {
    const { values, positionals } = parseFlags(args, { json: { type: "boolean" } });
    const [name, ...extra] = positionals;
    if (name === undefined) throw new UsageError("give the repo's name");
    noPositionals(extra);
    const valid = checked("name", RepoName, name) ?? name;
    const out = await connect(values, io).request("DELETE", `/api/repos/${encodeURIComponent(valid)}`, RepoRemoved);
    if (values.json) io.out(JSON.stringify(out, null, 2));
    else io.out(out.removed ? `removed ${out.name}` : `no repo '${out.name}' was registered`);
    return 0;
  },
};
