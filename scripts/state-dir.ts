/**
 * Where `npm start` keeps its state (D1/KV/Workflows, the executor's data, repos, worktrees). The
 * default is the checkout's `.vault/`; but with the agent sandbox on (as root) the agent users must
 * pass through it to their worktrees and homes, which they cannot when the checkout sits under a
 * folder closed to other users (root's home, a `mktemp -d`). Then the state moves to
 * /var/lib/vault-mcp/<checkout>-<hash>, and start says so; a VAULT_STATE_DIR given there is refused
 * with what to change.
 */
import { createHash } from "node:crypto";
import path from "node:path";
import { closedDir } from "../executor/src/sandbox/stage.ts";

export const SHARED_STATE_ROOT = "/var/lib/vault-mcp";

export type StateDir = { dir: string; note?: string } | { refuse: string };

export async function chooseStateDir(o: {
  root: string;
  /** VAULT_STATE_DIR, if set. */
  explicit: string | undefined;
  /** Will the agents run as other users (root, AGENT_SANDBOX not off)? */
  sandboxed: boolean;
  sharedRoot?: string;
}): Promise<StateDir> {
  const dir = path.resolve(o.explicit ?? path.join(o.root, ".vault"));
  if (!o.sandboxed) return { dir };
  const closed = await closedDir(path.dirname(dir));
  if (closed === null) return { dir };
  if (o.explicit !== undefined)
    return {
      refuse: `agent users cannot reach VAULT_STATE_DIR=${dir}: ${closed} is closed to other users. Choose a directory under a folder others can search, chmod o+x ${closed}, or run with AGENT_SANDBOX=off`,
    };
  const shared = o.sharedRoot ?? SHARED_STATE_ROOT;
  const id = createHash("sha256").update(path.resolve(o.root)).digest("hex").slice(0, 8);
  return {
    dir: path.join(shared, `${path.basename(o.root)}-${id}`),
    note: `the checkout is under ${closed}, which agent users cannot enter, so the state is kept in ${shared}`,
  };
}
