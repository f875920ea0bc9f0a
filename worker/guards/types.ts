import type { Config } from "../config.ts";

/** A guard answers with a Response to stop the request, or undefined to let it through. */
export type Guard = (request: Request, config: Config) => Promise<Response | undefined> | Response | undefined;

/** Runs guards in order; the first Response wins. */
export async function runGuards(request: Request, config: Config, guards: readonly Guard[]): Promise<Response | undefined> {
  for (const guard of guards) {
    const stop = await guard(request, config);
    if (stop) return stop;
  }
  return undefined;
}
