/** Every tool the MCP server lists, whichever way a client signed in: one list for the tests to hold. */
export const MCP_TOOL_NAMES: readonly string[] = [
  "execute",
  "workflow",
  "workflow_query",
  "repos",
  "task",
  "checkpoint",
  "decision",
  "transcript",
  "breakers",
  "replay",
  "health",
  "executors",
];

/** The names, sorted, to compare with what a client listed. */
export const sortedToolNames = (): string[] => [...MCP_TOOL_NAMES].sort();
