import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
import {
  ListResourcesRequestSchema,
  ListResourceTemplatesRequestSchema,
  ReadResourceRequestSchema,
  type CallToolResult,
} from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { filesApiPaths } from '../../contract/files-api.ts';
import { formatBytes } from '../announce/file-card.ts';
import { errorCode, type ErrorCode } from '../errors.ts';
import { describeError, type Logger } from '../logger.ts';
import type { ChatFiles } from './chat-files.ts';
import type { ChatOwners } from '../chats/chat-owners.ts';
import type { ChatKernels, ChatRun } from './chat-kernels.ts';
import type { McpCaller } from './mcp-caller.ts';
import { MAX_RESULT_IMAGE_CHARS, MAX_RESULT_IMAGES, withinOutputBudget } from './output-budget.ts';
import { McpToolError } from './tool-error.ts';
import { FILES_APP_URI } from '../../contract/mcp-app.ts';
import { FILES_APP_TOOL_META, filesAppResource, type FilesAppViews } from './files-app.ts';

/** What a tool learns about its call: set by the route from the request (see mcp-routes.ts). */
export interface CallContext {
  caller: McpCaller;
  /** The base of links for this caller: --public-url, else the Host it connected with. */
  linkBase: URL;
}

/** Told once per tool call, for metrics (issue 25's /metrics hooks in here). */
export type ToolCallObserver = (tool: string, outcome: 'ok' | 'error' | 'refused', durationMs: number) => void;

export interface McpToolsDeps {
  kernels: ChatKernels;
  files: ChatFiles;
  owners: ChatOwners;
  outputChars: number;
  /** The MCP App's view of a chat (its read-only token), handed over in every tool result's `_meta`. */
  appViews: FilesAppViews;
  logger: Logger;
  onToolCall?: ToolCallObserver;
}

const EXECUTE_DESCRIPTION = `Run Python code in this chat's Jupyter kernel (IPython: pandas, matplotlib and the usual libraries).
Variables, imports and files persist between calls in the same chat. Save any file the user should get under /mnt/data
(for example df.to_excel('/mnt/data/report.xlsx') or plt.savefig('/mnt/data/chart.png')): every file written there
comes back in the result as a download link; give the user those links. plt.show() or displaying an image returns it as an image.
Output over the limit is cut to its head and tail: print summaries, not whole tables.`;

const LIST_DESCRIPTION = `List this chat's files in /mnt/data (the latest version of each: files the code wrote and files the user uploaded),
with their size, type and a download link. Use it to find a file from an earlier step, or to give the user a link again.`;

/** The route puts the call's context in the SDK's `authInfo.extra`, which reaches every handler. */
export function authInfoFor(ctx: CallContext): AuthInfo {
  return { token: '', clientId: 'mcp', scopes: [], extra: { callContext: ctx } };
}

function contextOf(authInfo: AuthInfo | undefined): CallContext {
  const ctx = authInfo?.extra?.callContext as CallContext | undefined;
  if (!ctx) throw new Error('no call context: the route sets it on every request');
  return ctx;
}

/** Where the session's chat comes from when the caller names none: one chat per MCP session. */
export const sessionChatId = (sessionId: string | undefined): string | null =>
  sessionId && /^[A-Za-z0-9_-]{1,100}$/.test(sessionId) ? `mcp-${sessionId}` : null;

/**
 * One McpServer (one per MCP session, as the SDK's Streamable HTTP transport wants): the tools
 * and the chat's files as resources. `context` gives each request's caller, read by the route.
 */
export function createMcpServer(deps: McpToolsDeps): McpServer {
  const server = new McpServer(
    { name: 'generated-files-sidecar', version: '0.1.0' },
    {
      capabilities: { resources: {} },
      instructions:
        "Run Python with execute_code; files saved under /mnt/data come back as download links to give the user. list_files shows the chat's files.",
    },
  );

  /** The chat and user of a call, after the owner rules; a tool error for a chat the caller may not use. */
  async function chatOf(
    ctx: CallContext,
    sessionId: string | undefined,
  ): Promise<{ chatId: string; user: string | null }> {
    const { caller } = ctx;
    if (caller.problem) throw new McpToolError(caller.problem.code, caller.problem.message);
    const chatId = caller.chatId ?? sessionChatId(sessionId);
    if (!chatId) {
      throw new McpToolError(
        'ERR_CHAT_REQUIRED',
        'No chat: send the chat id in a header (X-OpenWebUI-Chat-Id or X-Chat-Id), use a token with a "chat" claim, or an MCP session.',
      );
    }
    // A caller that names no user is not held to an owner (as on the files API), so no lookup.
    if (caller.user !== null) {
      const owner = await deps.owners.ownerOf(chatId);
      if (owner !== null && owner !== caller.user)
        throw new McpToolError('ERR_CHAT_OTHER_OWNER', 'This chat belongs to another user.');
    }
    return { chatId, user: caller.user };
  }

  async function guarded(tool: string, run: () => Promise<CallToolResult>): Promise<CallToolResult> {
    const started = performance.now();
    try {
      const result = await run();
      deps.onToolCall?.(tool, result.isError ? 'error' : 'ok', performance.now() - started);
      return result;
    } catch (error) {
      deps.onToolCall?.(tool, 'refused', performance.now() - started);
      if (error instanceof McpToolError) return toolError(error.code, error.message);
      const code = errorCode(error);
      if (code === 'ERR_STORE_UNAVAILABLE')
        return toolError(code, 'The file store is unavailable right now; try again shortly.');
      deps.logger.error(`[mcp] ${tool}: ${describeError(error)}`);
      return toolError('ERR_INTERNAL', 'The sidecar failed to run this call; try again.');
    }
  }

  server.registerTool(
    'execute_code',
    {
      title: 'Run Python',
      description: EXECUTE_DESCRIPTION,
      inputSchema: { code: z.string().describe('Python code to run; the last expression is shown as the result.') },
      annotations: { readOnlyHint: false, destructiveHint: false, openWorldHint: true },
      _meta: FILES_APP_TOOL_META,
    },
    async ({ code }, extra) =>
      guarded('execute_code', async () => {
        const ctx = contextOf(extra.authInfo);
        const { chatId, user } = await chatOf(ctx, extra.sessionId);
        const run = await deps.kernels.run(chatId, user, code);
        const [result, _meta] = await Promise.all([
          deps.files.ofExecution(chatId, run).then((records) => executeResult(run, records, ctx.linkBase)),
          deps.appViews.metaFor(chatId),
        ]);
        return { ...result, _meta };
      }),
  );

  server.registerTool(
    'list_files',
    {
      title: "List the chat's files",
      description: LIST_DESCRIPTION,
      annotations: { readOnlyHint: true, openWorldHint: false },
      _meta: FILES_APP_TOOL_META,
    },
    async (extra) =>
      guarded('list_files', async () => {
        const ctx = contextOf(extra.authInfo);
        const { chatId } = await chatOf(ctx, extra.sessionId);
        const [records, _meta] = await Promise.all([deps.files.latest(chatId), deps.appViews.metaFor(chatId)]);
        if (records.length === 0) return { content: [{ type: 'text', text: 'No files in /mnt/data yet.' }], _meta };
        const lines = await Promise.all(
          records.map(
            async (r) =>
              `- /mnt/data/${r.path} (${formatBytes(r.size)}, ${r.format}, version ${r.version}): ${await deps.files.url(r, ctx.linkBase)}`,
          ),
        );
        const text = withinOutputBudget(
          `${records.length} file${records.length === 1 ? '' : 's'}:\n${lines.join('\n')}`,
          deps.outputChars,
        );
        return { content: [{ type: 'text', text }], _meta };
      }),
  );

  async function executeResult(
    run: ChatRun,
    records: Awaited<ReturnType<ChatFiles['ofExecution']>>,
    linkBase: URL,
  ): Promise<CallToolResult> {
    const content: CallToolResult['content'] = [];
    const parts: string[] = [];
    if (run.notes.length) parts.push(run.notes.map((n) => `[${n}]`).join('\n'));
    parts.push(run.text.trim() ? withinOutputBudget(run.text, deps.outputChars) : '(no output)');
    content.push({ type: 'text', text: parts.join('\n') });
    let imageChars = 0;
    let leftOut = 0;
    for (const image of run.images) {
      if (content.length > MAX_RESULT_IMAGES || imageChars + image.data.length > MAX_RESULT_IMAGE_CHARS) {
        leftOut++;
        continue;
      }
      imageChars += image.data.length;
      content.push({ type: 'image', data: image.data, mimeType: image.mimeType });
    }
    if (leftOut)
      content.push({ type: 'text', text: `[${leftOut} more image(s) not included: save them to /mnt/data instead.]` });
    const card = await deps.files.card(records, linkBase);
    if (card.text) content.push({ type: 'text', text: card.text }, ...card.links);
    return { content, isError: run.status === 'error' || run.status === 'timeout' || run.status === 'kernel-died' };
  }

  const raw = server.server;
  raw.setRequestHandler(ListResourcesRequestSchema, async (_request, extra) => {
    const ctx = contextOf(extra.authInfo);
    const { chatId } = await chatOf(ctx, extra.sessionId).catch(protocolError);
    const records = await deps.files.latest(chatId);
    return {
      // The chat's files only: the App's page is found through the tools' `_meta` (the spec lets
      // a server leave UI resources out of the list, and hosts would show it among the files).
      resources: await Promise.all(
        records.map(async (r) => ({
          uri: await deps.files.url(r, ctx.linkBase),
          name: r.path,
          title: `/mnt/data/${r.path}`,
          description: `${r.format}, version ${r.version}`,
          mimeType: r.mimeType,
          size: r.size,
        })),
      ),
    };
  });
  raw.setRequestHandler(ListResourceTemplatesRequestSchema, async (_request, extra) => {
    const ctx = contextOf(extra.authInfo);
    return {
      resourceTemplates: [
        {
          uriTemplate: new URL(
            filesApiPaths.fileContent('{chatId}', '{fileId}').slice(1).replace(/%7B/g, '{').replace(/%7D/g, '}'),
            ctx.linkBase,
          ).href
            .replace(/%7B/g, '{')
            .replace(/%7D/g, '}'),
          name: 'file-version',
          title: 'One version of a file in /mnt/data',
          description: "One recorded version of a chat's file, by its id (as list_files and file links give it).",
        },
      ],
    };
  });
  raw.setRequestHandler(ReadResourceRequestSchema, async (request, extra) => {
    const ctx = contextOf(extra.authInfo);
    // The App's page is the same for every chat: the chat reaches it in a tool result's `_meta`.
    if (request.params.uri === FILES_APP_URI) return { contents: [filesAppResource(ctx.linkBase)] };
    const { chatId } = await chatOf(ctx, extra.sessionId).catch(protocolError);
    const { record, bytes } = await deps.files.read(chatId, request.params.uri).catch(protocolError);
    return { contents: [{ uri: request.params.uri, mimeType: record.mimeType, blob: bytes.toString('base64') }] };
  });

  return server;
}

function toolError(code: ErrorCode, message: string): CallToolResult {
  return { content: [{ type: 'text', text: `${code}: ${message}` }], isError: true };
}

/** Resource requests have no tool result: a refusal is a JSON-RPC error with the same words. */
function protocolError(error: unknown): never {
  if (error instanceof McpToolError)
    throw Object.assign(new Error(`${error.code}: ${error.message}`), { code: -32002 });
  throw error;
}
