import { SidecarError } from '../errors.ts';

/**
 * A tool call the sidecar refuses or cannot run (busy chat, kernel limit, another user's chat):
 * the model gets it as a tool error (`isError: true`) with this code and message, never a
 * protocol error, so it can tell the user what to do.
 */
export class McpToolError extends SidecarError {}
