export * from "./api.ts";
export * from "./health.ts";
export * from "./job.ts";
export * from "./profiles.ts";
export * from "./result.ts";
export * from "./signature.ts";
export * from "./task.ts";
export * from "./text.ts";
