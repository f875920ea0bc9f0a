import type { Config } from "../../core/config.ts";

/**
 * A guard answers with a Response to stop the request, or undefined to let it through, so guards
 * compose with `??` in the router: the first Response wins and later guards never run.
 */
export type Guard = (request: Request, config: Config) => Response | undefined;
