/** Where the sidecar serves MCP (Streamable HTTP). Apart from the routes so that naming it loads no SDK. */
export const MCP_PATH = '/mcp';
