import { WIDGET_PATH } from '../../contract/files-api.ts';
import {
  FILES_APP_META_KEY,
  FILES_APP_MIME_TYPE,
  FILES_APP_SCRIPT,
  FILES_APP_URI,
  type FilesAppView,
} from '../../contract/mcp-app.ts';
import { signChatToken } from '../links/chat-token.ts';
import { secretKey, VIEW_SCOPE } from '../links/link-token.ts';

/** The tools' link to the App: the spec's nested key, and the flat one older hosts read. */
export const FILES_APP_TOOL_META = { ui: { resourceUri: FILES_APP_URI }, 'ui/resourceUri': FILES_APP_URI };

const escapeAttribute = (value: string) =>
  value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * The App's HTML: the element's script-tag bundle and the App's small script, both from the
 * sidecar as the caller reaches it (`linkBase`), and one <generated-files> that the script points
 * at the chat a tool result names. Everything else (the list, previews, versions, live updates)
 * is the element as any page embeds it.
 */
export function filesAppHtml(linkBase: URL): string {
  const bundle = new URL(WIDGET_PATH.slice(1), linkBase);
  const script = new URL(FILES_APP_SCRIPT, bundle);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Generated files</title>
<style>html,body{margin:0;background:transparent}body{font-family:var(--font-sans,system-ui,sans-serif)}</style>
<script type="module" src="${escapeAttribute(bundle.href)}"></script>
<script type="module" src="${escapeAttribute(script.href)}"></script>
</head>
<body>
<generated-files src="${escapeAttribute(linkBase.href)}" heading="Files in this chat"></generated-files>
</body>
</html>
`;
}

/**
 * The UI resource as `resources/read` returns it. The CSP names the sidecar's origin for the
 * App's scripts, its API calls and event stream, and the frames HTML previews load from it.
 */
export function filesAppResource(linkBase: URL) {
  const origin = linkBase.origin;
  return {
    uri: FILES_APP_URI,
    mimeType: FILES_APP_MIME_TYPE,
    text: filesAppHtml(linkBase),
    _meta: {
      ui: {
        csp: { connectDomains: [origin], resourceDomains: [origin], frameDomains: [origin] },
        prefersBorder: true,
      },
    },
  };
}

/**
 * Mints what a tool result hands the App: the chat and a read-only `view` token for it, signed
 * by the sidecar's one token signer, living `ttlS` seconds. Without a secret the files API is
 * open and no token is made.
 */
export class FilesAppViews {
  readonly #key: Uint8Array | null;
  readonly #ttlS: number;

  constructor(options: { secret: string | null; ttlS: number }) {
    this.#key = options.secret ? secretKey(options.secret) : null;
    this.#ttlS = options.ttlS;
  }

  async viewFor(chatId: string): Promise<FilesAppView> {
    if (!this.#key) return { chatId, token: null, expiresAt: null };
    const nowS = Math.floor(Date.now() / 1000);
    const token = await signChatToken(this.#key, { chat: chatId, scope: VIEW_SCOPE }, this.#ttlS, nowS);
    return { chatId, token, expiresAt: new Date((nowS + this.#ttlS) * 1000).toISOString() };
  }

  /** A tool result's `_meta` with the view for its chat. */
  async metaFor(chatId: string): Promise<Record<string, unknown>> {
    return { [FILES_APP_META_KEY]: await this.viewFor(chatId) };
  }
}
