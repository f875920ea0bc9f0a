/** The version /health and the MCP server report: package.json's, the one place it is written. */
import { version } from "../package.json";

export const VERSION: string = version;
