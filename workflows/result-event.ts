/**
 * The executor-result event: the signed callback's JobView, slimmed so the wait's stored output stays
 * small (a run's text can be 1 MiB). It wakes the instance and says how the job ended; the write step
 * reads the full job from the executor, so nothing is lost by cutting it here.
 */
import { JobView, type RunResult, TERMINAL_JOB_STATUSES } from "@vault-mcp/contract";

const TEXT_CHARS = 1_000;
const MAX_FILES = 20;
/** Above this the result is dropped from the event entirely (the status and ids remain). */
export const MAX_EVENT_BYTES = 16 * 1024;

const cut = (s: string, n = TEXT_CHARS): string => (s.length > n ? `${s.slice(0, n)}…` : s);

const slimRun = (run: RunResult): RunResult => ({
  ...run,
  text: cut(run.text),
  ...(run.error ? { error: { ...run.error, message: cut(run.error.message) } } : {}),
});

/** A valid JobView with long texts cut, at most MAX_FILES files, and no consensus report. */
export function slimJobView(view: JobView): JobView {
  const r = view.result;
  const slim: JobView = r
    ? {
        ...view,
        result: {
          ok: r.ok,
          profile: r.profile,
          run: slimRun(r.run),
          ...(r.runB ? { runB: slimRun(r.runB) } : {}),
          files: r.files.slice(0, MAX_FILES).map((f) => ({ ...f, path: cut(f.path, 200) })),
          branch: r.branch,
          commit: r.commit,
          ...(r.verify
            ? {
                verify: {
                  ...r.verify,
                  command: r.verify.command.map((a) => cut(a, 200)),
                  output: cut(r.verify.output),
                },
              }
            : {}),
          compressed: cut(r.compressed, 4_000),
          costUsd: r.costUsd,
        },
      }
    : view;
  return new TextEncoder().encode(JSON.stringify(slim)).byteLength <= MAX_EVENT_BYTES
    ? slim
    : { ...view, result: null };
}

/**
 * The event's JobView when it is a valid, finished view of the job this attempt dispatched; null
 * otherwise (then the instance polls the executor, which is the source of truth anyway).
 */
export function finishedJobFromEvent(payload: unknown, jobId: string): JobView | null {
  const parsed = JobView.safeParse(payload);
  if (!parsed.success || parsed.data.jobId !== jobId || !TERMINAL_JOB_STATUSES.includes(parsed.data.status))
    return null;
  return parsed.data;
}
