import express, { type Request, type Response, type Router } from 'express';
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import { isInitializeRequest, LATEST_PROTOCOL_VERSION } from '@modelcontextprotocol/sdk/types.js';
import { createErrorHandler } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { createMcpCaller, type McpCallerOptions } from './mcp-caller.ts';
import { authInfoFor, createMcpServer, type McpToolsDeps } from './mcp-tools.ts';
import { readJsonBody } from './json-body.ts';
import type { SessionIds } from './session-ids.ts';
import { sendWebResponse, webRequestOf } from './web-exchange.ts';
import { MCP_PATH } from './mcp-path.ts';

/** The largest JSON-RPC body a POST may carry (a tool call's code, an upload-free protocol). */
const MAX_BODY_BYTES = 4 * 1024 * 1024;

/** Sessions kept at once, and how long one may go unused before it is closed (a host that never says DELETE). */
const MAX_SESSIONS = 10_000;
const SESSION_IDLE_MS = 60 * 60 * 1000;

export interface McpRoutesDeps extends McpToolsDeps {
  caller: McpCallerOptions;
  /** Mints session ids, and recognises those another sidecar of this deployment minted. */
  sessionIds: SessionIds;
  /** Where links point for a request with this Host (--public-url first). */
  linkBase: (hostHeader: string | undefined) => URL;
  logger: Logger;
}

interface Session {
  transport: WebStandardStreamableHTTPServerTransport;
  lastUsed: number;
}

function jsonRpcError(res: Response, status: number, code: number, message: string): void {
  res.status(status).json({ jsonrpc: '2.0', error: { code, message }, id: null });
}

/**
 * MCP over Streamable HTTP at /mcp, with the official SDK's (web-standard) transport: one
 * transport and one McpServer per MCP session, in this process's memory. A session id another
 * sidecar of the deployment minted (see session-ids.ts) is taken over here: its session is opened
 * again under the same id, so the host carries on, and the chat (named by header or token, else by
 * the session id) keeps its kernel and files through the shared stores. The caller is
 * authenticated before the body is read.
 */
export function createMcpRoutes(deps: McpRoutesDeps): { router: Router; close(): Promise<void> } {
  const sessions = new Map<string, Session>();
  const router = express.Router();
  router.use(MCP_PATH, createMcpCaller(deps.caller));

  const sweep = setInterval(() => {
    const cutoff = Date.now() - SESSION_IDLE_MS;
    for (const session of sessions.values()) if (session.lastUsed < cutoff) void session.transport.close();
  }, 60_000);
  sweep.unref();

  async function handle(req: Request, res: Response): Promise<void> {
    let body: unknown;
    if (req.method === 'POST') {
      const read = await readJsonBody(req, MAX_BODY_BYTES);
      if (read.kind === 'refused') {
        if (read.status === 413) res.setHeader('Connection', 'close');
        return jsonRpcError(res, read.status, read.code, read.message);
      }
      if (read.kind === 'parsed') body = read.value;
    }
    const sessionId = req.headers['mcp-session-id'];
    let session = typeof sessionId === 'string' ? sessions.get(sessionId) : undefined;
    if (!session) {
      if (sessionId !== undefined) {
        if (typeof sessionId !== 'string' || !deps.sessionIds.isOurs(sessionId))
          return jsonRpcError(res, 404, -32001, 'Session not found: initialize a new one.');
        if (sessions.size >= MAX_SESSIONS) return tooMany(res);
        session = await takeOver(sessionId, req.headers['mcp-protocol-version']);
      } else {
        if (req.method !== 'POST' || !isInitializeRequest(body))
          return jsonRpcError(res, 400, -32000, 'Bad request: no valid MCP session id; send initialize first.');
        if (sessions.size >= MAX_SESSIONS) return tooMany(res);
        session = await openSession(() => deps.sessionIds.mint());
      }
    }
    session.lastUsed = Date.now();
    const caller = res.locals.mcpCaller!;
    const authInfo = authInfoFor({ caller, linkBase: deps.linkBase(req.headers.host) });
    const answer = await session.transport.handleRequest(webRequestOf(req), {
      authInfo,
      parsedBody: body,
    });
    await sendWebResponse(answer, res);
  }

  const tooMany = (res: Response) =>
    jsonRpcError(res, 503, -32000, 'Too many MCP sessions on this sidecar; try again later.');

  async function openSession(sessionIdGenerator: () => string): Promise<Session> {
    const session: Session = {
      lastUsed: Date.now(),
      transport: new WebStandardStreamableHTTPServerTransport({
        sessionIdGenerator,
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

  /**
   * A session another sidecar opened: the same id, initialized here by replaying an initialize
   * (the host's own came before, elsewhere). What a session holds here (the chat it names, its
   * tools) is rebuilt from the id and the shared stores; only the host's declared capabilities are
   * not known, and no tool uses them.
   */
  async function takeOver(sessionId: string, protocolVersion: string | string[] | undefined): Promise<Session> {
    const session = await openSession(() => sessionId);
    const version = typeof protocolVersion === 'string' ? protocolVersion : LATEST_PROTOCOL_VERSION;
    const answer = await session.transport.handleRequest(
      new globalThis.Request(`http://sidecar.invalid${MCP_PATH}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      }),
      {
        parsedBody: {
          jsonrpc: '2.0',
          id: 0,
          method: 'initialize',
          params: { protocolVersion: version, capabilities: {}, clientInfo: { name: 'taken-over', version: '0' } },
        },
      },
    );
    await answer.body?.cancel();
    deps.logger.info(`[mcp] took over a session another sidecar opened`);
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
