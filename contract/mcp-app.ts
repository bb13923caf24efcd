/**
 * The MCP App contract: the <generated-files> element inside an MCP host's conversation. The
 * sidecar (proxy/mcp/files-app.ts) and the App's script (widget/mcp-app.ts) both import this
 * module. No runtime imports: it runs in Node and in the browser as it is.
 */

/** The UI resource the tools link to (`_meta.ui.resourceUri`). */
export const FILES_APP_URI = 'ui://generated-files/files.html';

/** The MIME type the MCP Apps spec (ext-apps 2026-01-26) gives an HTML UI resource. */
export const FILES_APP_MIME_TYPE = 'text/html;profile=mcp-app';

/** The App's script, next to the element's bundle (WIDGET_PATH) in the widget folder. */
export const FILES_APP_SCRIPT = 'generated-files-mcp-app.js';

/**
 * Where a tool result tells the App which chat to show, in the result's `_meta` (which the spec
 * keeps out of the model's context; the host hands it to the App in `ui/notifications/tool-result`).
 */
export const FILES_APP_META_KEY = 'generated-files/view';

/** The tool the App calls (through the host) for a fresh view when its token runs out. */
export const FILES_APP_REFRESH_TOOL = 'list_files';

/** What the App needs to show one chat's files. */
export interface FilesAppView {
  chatId: string;
  /** A read-only (`view`) token for that chat; null when the files API needs none. */
  token: string | null;
  /** ISO time the token stops working; null with no token. */
  expiresAt: string | null;
}
