/**
 * What an identity can actually do, tried for real: read a process's environment, open files for
 * reading or appending, create a file in a directory, execute a program, open a TCP connection, call
 * the executor's API. Used at start-up as the sandbox's self-check (run as an agent identity) and by
 * the escape tests' fake CLI, so both try the same things the same way.
 *
 * `runProbe` must stay self-contained (no imports, no outer names): the self-check runs its source
 * text with `node -e` as the identity, which has no access to the executor's files.
 */

export interface ProbeSpec {
  /** Pids whose /proc/<pid>/environ to read. */
  environ?: number[];
  /** Files to open for reading (first bytes only). */
  read?: string[];
  /** Existing files to open for appending; `append` text is written when one opens. */
  append?: string[];
  /** Directories in which to create (and then delete) a file. */
  create?: string[];
  /** Programs to check for execute permission. */
  execute?: string[];
  /** TCP connections to attempt. */
  connect?: { host: string; port: number }[];
  /** An authenticated executor route to call, with the EXECUTOR_SECRET found in a readable environ, if any. */
  executor?: string;
  timeoutMs?: number;
}

export interface ProbeResult {
  /** e.g. "read /var/lib/vault-executor/jobs.sqlite". */
  attempt: string;
  /** The action succeeded (for an escape attempt: the sandbox did not stop it). */
  ok: boolean;
  /** errno code, HTTP status or what was found; never the content of what was read. */
  detail: string;
}

export async function runProbe(spec: ProbeSpec): Promise<ProbeResult[]> {
  // getBuiltinModule, not import(): the text must run unchanged under `node -e` and after a bundler.
  const fs = process.getBuiltinModule("node:fs/promises");
  const net = process.getBuiltinModule("node:net");
  const timeoutMs = spec.timeoutMs ?? 1500;
  const results: ProbeResult[] = [];
  const code = (err: unknown) => {
    const e = err as { code?: string; cause?: { code?: string }; message?: string };
    return String(e.code ?? e.cause?.code ?? e.message);
  };
  const tryIt = async (attempt: string, fn: () => Promise<string>) => {
    try {
      results.push({ attempt, ok: true, detail: await fn() });
    } catch (err) {
      results.push({ attempt, ok: false, detail: code(err) });
    }
  };
  let token: string | undefined;
  for (const pid of spec.environ ?? [])
    await tryIt(`environ ${pid}`, async () => {
      const env = await fs.readFile(`/proc/${pid}/environ`, "utf8");
      const found = env.split("\0").find((kv) => kv.startsWith("EXECUTOR_SECRET="));
      if (found) token = found.slice("EXECUTOR_SECRET=".length);
      return found ? "holds EXECUTOR_SECRET" : `${env.split("\0").length} variables`;
    });
  for (const file of spec.read ?? [])
    await tryIt(`read ${file}`, async () => {
      const fh = await fs.open(file, "r");
      try {
        const { bytesRead } = await fh.read(Buffer.alloc(16), 0, 16, 0);
        return `${bytesRead} bytes`;
      } finally {
        await fh.close();
      }
    });
  for (const file of spec.append ?? [])
    await tryIt(`append ${file}`, async () => {
      const fh = await fs.open(file, "a");
      await fh.close();
      return "opened for writing";
    });
  for (const dir of spec.create ?? [])
    await tryIt(`create in ${dir}`, async () => {
      const file = `${dir}/.vault-probe-${process.pid}`;
      await fs.writeFile(file, "probe\n", { flag: "wx" });
      await fs.rm(file, { force: true });
      return "created";
    });
  for (const file of spec.execute ?? [])
    await tryIt(`execute ${file}`, async () => {
      await fs.access(file, 1);
      return "executable";
    });
  for (const { host, port } of spec.connect ?? [])
    await tryIt(
      `connect ${host}:${port}`,
      () =>
        new Promise<string>((resolve, reject) => {
          const socket = net.connect({ host, port });
          const timer = setTimeout(() => {
            socket.destroy();
            reject(Object.assign(new Error("timeout"), { code: "TIMEOUT" }));
          }, timeoutMs);
          socket.once("connect", () => {
            clearTimeout(timer);
            socket.destroy();
            resolve("connected");
          });
          socket.once("error", (err) => {
            clearTimeout(timer);
            reject(err);
          });
        }),
    );
  if (spec.executor !== undefined) {
    const url = spec.executor;
    await tryIt(`call ${url} ${token ? "with the token read from an environ" : "without a token"}`, async () => {
      const res = await fetch(url, {
        headers: token ? { "x-auth-token": token } : {},
        signal: AbortSignal.timeout(timeoutMs),
      });
      await res.body?.cancel();
      if (res.status === 401) throw Object.assign(new Error("401"), { code: "HTTP 401" });
      return `HTTP ${res.status}`;
    });
  }
  return results;
}

/** A `node -e` program that runs runProbe on argv[1] (JSON) and prints the results as JSON. */
export function probeProgram(): string {
  return `(${runProbe.toString()})(JSON.parse(process.argv[1])).then((r) => process.stdout.write(JSON.stringify(r)), (e) => { process.stderr.write(String(e)); process.exit(1); });`;
}
