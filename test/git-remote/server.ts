/**
 * A git remote for tests: bare repositories served over git's smart HTTP by `git http-backend` (the
 * CGI git ships) behind a small node:http server with Basic auth, on a free loopback port. Pushes are
 * allowed (`http.receivepack`); a wrong or missing token gets 401 like a real host, and git then asks
 * its credential helper. The test owns the repositories' contents through `createRepo`/`commit`
 * (plain git on the bare directory, no HTTP) and reads what was pushed with `sha`/`show`.
 *
 *   const remote = await startGitRemote({ token: "t0ken" });
 *   remote.createRepo("app", { "README.md": "# app\n" });
 *   remote.repoUrl("app");          // http://127.0.0.1:PORT/app.git
 *   remote.credentialLine();        // http://x-access-token:t0ken@127.0.0.1:PORT (a GIT_CREDENTIALS line)
 *   await remote.close();
 *
 * It answers from the event loop of the process that started it: run git against it from another
 * process or asynchronously (execFile, not execFileSync, which would wait on itself forever).
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";

export interface GitRemoteOptions {
  /** The password (token) Basic auth requires. */
  token: string;
  /** The user name it requires; default `x-access-token` (what GitHub takes with a token). */
  username?: string;
}

export interface GitRemoteRequest {
  method: string;
  path: string;
  service: string | null;
  status: number;
}

export interface GitRemote {
  /** http://127.0.0.1:PORT */
  readonly url: string;
  /** `host:port`, as a credential-store line names it. */
  readonly host: string;
  /** Where the bare repositories are (`<name>.git`). */
  readonly root: string;
  repoUrl(name: string): string;
  /** A GIT_CREDENTIALS line for this remote, with the given token (default: the right one). */
  credentialLine(token?: string): string;
  /** A bare repository `<name>.git` whose `branch` (default main) holds `files`; returns the commit. */
  createRepo(name: string, files?: Record<string, string>, opts?: { branch?: string }): string;
  /** Commits `files` on `branch` of the bare repository (as someone else pushing); returns the commit. */
  commit(name: string, files: Record<string, string>, opts?: { branch?: string; message?: string }): string;
  /** The commit of `refs/heads/<branch>`, or null when there is no such branch. */
  sha(name: string, branch: string): string | null;
  /** A file's content at `rev`. */
  show(name: string, rev: string, file: string): string;
  /** Changes the token the remote accepts (the old one then gets 401). */
  setToken(token: string): void;
  /** Delays every answer by `ms` (keeps the client's git processes alive for a test to look at). */
  setDelay(ms: number): void;
  requests(): readonly GitRemoteRequest[];
  close(): Promise<void>;
}

/** git for setup and inspection, with no global or system config. */
function git(cwd: string, args: readonly string[], raw = false): string {
  const out = execFileSync("git", ["-c", "user.name=remote", "-c", "user.email=remote@test", ...args], {
    cwd,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    env: {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: os.tmpdir(),
      GIT_CONFIG_GLOBAL: "/dev/null",
      GIT_CONFIG_NOSYSTEM: "1",
    },
  });
  return raw ? out : out.trim();
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

export async function startGitRemote(opts: GitRemoteOptions): Promise<GitRemote> {
  const root = mkdtempSync(path.join(os.tmpdir(), "vault-git-remote-"));
  const username = opts.username ?? "x-access-token";
  let token = opts.token;
  let delayMs = 0;
  const log: GitRemoteRequest[] = [];
  const children = new Set<ChildProcess>();

  const authorized = (req: IncomingMessage): boolean => {
    const m = /^Basic (.+)$/i.exec(req.headers.authorization ?? "");
    if (!m?.[1]) return false;
    const [user, ...rest] = Buffer.from(m[1], "base64").toString("utf8").split(":");
    return user === username && rest.join(":") === token;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const u = new URL(req.url ?? "/", "http://remote");
    const entry: GitRemoteRequest = {
      method: req.method ?? "",
      path: u.pathname,
      service: u.searchParams.get("service"),
      status: 0,
    };
    log.push(entry);
    res.once("finish", () => {
      entry.status = res.statusCode;
    });
    if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
    if (!authorized(req)) {
      req.resume();
      res.writeHead(401, { "www-authenticate": 'Basic realm="vault test remote"', "content-type": "text/plain" });
      res.end("authentication required\n");
      return;
    }
    const child = spawn("git", ["http-backend"], {
      env: {
        PATH: process.env.PATH ?? "/usr/bin:/bin",
        HOME: root,
        GIT_CONFIG_GLOBAL: "/dev/null",
        GIT_CONFIG_NOSYSTEM: "1",
        GIT_PROJECT_ROOT: root,
        GIT_HTTP_EXPORT_ALL: "1",
        REQUEST_METHOD: req.method ?? "GET",
        PATH_INFO: decodeURIComponent(u.pathname),
        QUERY_STRING: u.search.replace(/^\?/, ""),
        CONTENT_TYPE: req.headers["content-type"] ?? "",
        ...(req.headers["content-length"] ? { CONTENT_LENGTH: req.headers["content-length"] } : {}),
        ...(req.headers["content-encoding"] ? { HTTP_CONTENT_ENCODING: req.headers["content-encoding"] } : {}),
        ...(typeof req.headers["git-protocol"] === "string" ? { GIT_PROTOCOL: req.headers["git-protocol"] } : {}),
        REMOTE_USER: username,
        REMOTE_ADDR: req.socket.remoteAddress ?? "127.0.0.1",
      },
      stdio: ["pipe", "pipe", "pipe"],
    });
    children.add(child);
    child.once("exit", () => children.delete(child));
    req.pipe(child.stdin);
    child.stdin.on("error", () => undefined);
    let stderr = "";
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    // CGI: header lines, a blank line, then the body as is.
    let head = Buffer.alloc(0);
    let started = false;
    child.stdout.on("data", (chunk: Buffer) => {
      if (started) {
        res.write(chunk);
        return;
      }
      head = Buffer.concat([head, chunk]);
      const crlf = head.indexOf("\r\n\r\n");
      const lf = head.indexOf("\n\n");
      const cut = crlf >= 0 && (lf < 0 || crlf < lf) ? { at: crlf, len: 4 } : lf >= 0 ? { at: lf, len: 2 } : null;
      if (!cut) return;
      const headers: Record<string, string> = {};
      let status = 200;
      for (const line of head.subarray(0, cut.at).toString("latin1").split(/\r?\n/)) {
        const i = line.indexOf(":");
        if (i < 0) continue;
        const k = line.slice(0, i).trim();
        const v = line.slice(i + 1).trim();
        if (k.toLowerCase() === "status") status = Number.parseInt(v, 10);
        else headers[k] = v;
      }
      started = true;
      res.writeHead(status, headers);
      res.write(head.subarray(cut.at + cut.len));
    });
    await new Promise<void>((resolve) => child.once("close", () => resolve()));
    if (!started) {
      res.writeHead(500, { "content-type": "text/plain" });
      res.end(`git http-backend failed: ${stderr}`);
      return;
    }
    res.end();
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500);
      res.end(String(err));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;

  const bare = (name: string) => {
    if (!NAME.test(name)) throw new Error(`bad repo name ${name}`);
    return path.join(root, `${name}.git`);
  };

  const remote: GitRemote = {
    url,
    host: `127.0.0.1:${port}`,
    root,
    repoUrl: (name) => `${url}/${name}.git`,
    credentialLine: (t = token) => `http://${username}:${encodeURIComponent(t)}@127.0.0.1:${port}`,
    createRepo(name, files = { "README.md": `# ${name}\n` }, o = {}) {
      const dir = bare(name);
      git(root, ["init", "-q", "--bare", "-b", o.branch ?? "main", dir]);
      git(dir, ["config", "http.receivepack", "true"]);
      return remote.commit(name, files, { branch: o.branch ?? "main", message: "init" });
    },
    commit(name, files, o = {}) {
      const branch = o.branch ?? "main";
      const work = mkdtempSync(path.join(os.tmpdir(), "vault-git-remote-work-"));
      try {
        git(work, ["init", "-q", "-b", branch]);
        if (remote.sha(name, branch) !== null) {
          git(work, ["fetch", "-q", bare(name), `refs/heads/${branch}`]);
          git(work, ["reset", "-q", "--hard", "FETCH_HEAD"]);
        }
        for (const [rel, body] of Object.entries(files)) {
          mkdirSync(path.dirname(path.join(work, rel)), { recursive: true });
          writeFileSync(path.join(work, rel), body);
        }
        git(work, ["add", "-A"]);
        git(work, ["commit", "-q", "--allow-empty", "-m", o.message ?? "a commit on the remote"]);
        git(work, ["push", "-q", bare(name), `HEAD:refs/heads/${branch}`]);
        return git(work, ["rev-parse", "HEAD"]);
      } finally {
        rmSync(work, { recursive: true, force: true });
      }
    },
    sha(name, branch) {
      try {
        return git(bare(name), ["rev-parse", "--verify", "--quiet", `refs/heads/${branch}^{commit}`]);
      } catch {
        return null;
      }
    },
    show: (name, rev, file) => git(bare(name), ["show", `${rev}:${file}`], true),
    setToken(t) {
      token = t;
    },
    setDelay(ms) {
      delayMs = ms;
    },
    requests: () => log,
    async close() {
      for (const c of children) c.kill("SIGKILL");
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(root, { recursive: true, force: true });
    },
  };
  return remote;
}
