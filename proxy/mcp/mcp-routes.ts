import { randomUUID } from 'node:crypto';
import express, { type Request, type Response, type Router } from 'express';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import { createErrorHandler } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { createMcpCaller, type McpCallerOptions } from './mcp-caller.ts';
import { authInfoFor, createMcpServer, type McpToolsDeps } from './mcp-tools.ts';

/** Where MCP is served on the sidecar. */
export const MCP_PATH = '/mcp';

/** Sessions kept at once, and how long one may go unused before it is closed (a host that never says DELETE). */
const MAX_SESSIONS = 10_000;
const SESSION_IDLE_MS = 60 * 60 * 1000;

export interface McpRoutesDeps extends McpToolsDeps {
  caller: McpCallerOptions;
  /** Where links point for a request with this Host (--public-url first). */
  linkBase: (hostHeader: string | undefined) => URL;
  logger: Logger;
}

interface Session {
  transport: StreamableHTTPServerTransport;
  lastUsed: number;
}

function jsonRpcError(res: Response, status: number, code: number, message: string): void {
  res.status(status).json({ jsonrpc: '2.0', error: { code, message }, id: null });
}

/**
 * MCP over Streamable HTTP at /mcp, with the official SDK's transport: one transport and one
 * McpServer per MCP session (in this process's memory; a host that reaches another sidecar
 * starts a new session there, and the chat, named by header or token, keeps its kernel and files).
 * The caller is authenticated before the body is read.
 */
export function createMcpRoutes(deps: McpRoutesDeps): { router: Router; close(): Promise<void> } {
  const sessions = new Map<string, Session>();
  const router = express.Router();
  router.use(MCP_PATH, createMcpCaller(deps.caller));
  router.post(MCP_PATH, express.json({ limit: '4mb' }));

  const sweep = setInterval(() => {
    const cutoff = Date.now() - SESSION_IDLE_MS;
    for (const session of sessions.values()) if (session.lastUsed < cutoff) void session.transport.close();
  }, 60_000);
  sweep.unref();

  async function handle(req: Request, res: Response): Promise<void> {
    const sessionId = req.headers['mcp-session-id'];
    let session = typeof sessionId === 'string' ? sessions.get(sessionId) : undefined;
    if (!session) {
      if (sessionId !== undefined) return jsonRpcError(res, 404, -32001, 'Session not found: initialize a new one.');
      if (req.method !== 'POST' || !isInitializeRequest(req.body))
        return jsonRpcError(res, 400, -32000, 'Bad request: no valid MCP session id; send initialize first.');
      if (sessions.size >= MAX_SESSIONS)
        return jsonRpcError(res, 503, -32000, 'Too many MCP sessions on this sidecar; try again later.');
      session = await openSession();
    }
    session.lastUsed = Date.now();
    const caller = res.locals.mcpCaller!;
    (req as Request & { auth?: unknown }).auth = authInfoFor({ caller, linkBase: deps.linkBase(req.headers.host) });
    await session.transport.handleRequest(req, res, req.body);
  }

  async function openSession(): Promise<Session> {
    const session: Session = {
      lastUsed: Date.now(),
      transport: new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        // One JSON answer per request: no tool streams progress, and an SSE stream per call costs time.
        enableJsonResponse: true,
        onsessioninitialized: (id) => void sessions.set(id, session),
      }),
    };
    session.transport.onclose = () => {
      const id = session.transport.sessionId;
      if (id && sessions.get(id) === session) sessions.delete(id);
    };
    await createMcpServer(deps).connect(session.transport);
    return session;
  }

  router.post(MCP_PATH, handle);
  router.get(MCP_PATH, handle);
  router.delete(MCP_PATH, handle);
  router.use(MCP_PATH, createErrorHandler({ logger: deps.logger, jupyter: false }));

  return {
    router,
    async close() {
      clearInterval(sweep);
      await Promise.all([...sessions.values()].map((s) => s.transport.close().catch(() => {})));
      sessions.clear();
    },
  };
}
