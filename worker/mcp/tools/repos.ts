import { z } from "zod";
import { parseInput } from "../../../core/errors.ts";
import { listRepos, prHasGithub, RepoFields, RepoNameInput, removeRepo, saveRepo } from "../../services/repos.ts";
import { flatInput } from "../flat-input.ts";
import { guarded, ok, type RegisterTool } from "../tool-kit.ts";

/** One strict schema per action: the same ones `POST /api/repos` and `DELETE /api/repos/:name` validate with. */
const Action = z.discriminatedUnion("action", [
  z.strictObject({ action: z.literal("list") }),
  RepoFields.extend({ action: z.literal("add") }).superRefine(prHasGithub),
  RepoNameInput.extend({ action: z.literal("remove") }),
]);

const Input = flatInput(
  "action",
  Action,
  "list: the repos you may name in execute (each with its default branch and delivery); add: register one by URL (or update it); remove: forget one.",
);

export const registerRepos: RegisterTool = (server, deps) => {
  server.registerTool(
    "repos",
    {
      title: "Repositories tasks may work in",
      description:
        "'list' shows the repos registered by URL that execute's `repo` may name, each with its default branch and what happens to a succeeded task's work (deliver: none = stays on the executor, push = branch vault/<taskId>, pr = push and open a pull request). " +
        "Repos placed on the executor by hand (REPO_ALLOWLIST) can be named too but are not listed, and deliver nothing. " +
        "'add' registers a repo {name, url, defaultBranch?, deliver?, github?} (again: updates it); 'remove' forgets one. Free.",
      inputSchema: Input,
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
    },
    async (args) =>
      guarded(async () => {
        const a = parseInput(Action, args);
        switch (a.action) {
          case "list": {
            const { repos } = await listRepos(deps.env.DB);
            const lines = repos.map(
              (r) =>
                `${r.name}  ${r.url}  branch ${r.defaultBranch}  deliver ${r.deliver}${r.github ? ` (${r.github})` : ""}`,
            );
            return ok(lines.length ? lines.join("\n") : "no repos registered by URL (add one with action add)", {
              repos,
            });
          }
          case "add": {
            const { action: _action, ...repo } = a;
            const saved = await saveRepo(deps.env.DB, repo, deps.now());
            const r = saved.repo;
            return ok(
              `${saved.created ? "added" : "updated"} ${r.name}: ${r.url} branch ${r.defaultBranch} deliver ${r.deliver}${r.github ? ` (${r.github})` : ""}`,
              { ...saved },
            );
          }
          case "remove": {
            const r = await removeRepo(deps.env.DB, a.name);
            return ok(r.removed ? `removed ${r.name}` : `no repo '${r.name}' was registered`, { ...r });
          }
        }
      }),
  );
};
