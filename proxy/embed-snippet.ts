import { WIDGET_PATH } from '../contract/files-api.ts';

/**
 * What the sidecar prints at start so a developer can embed the element in two minutes: the
 * script tag and the element for its own address (the public URL when one is set), where the
 * page's origin goes (--cors-origins), and how to get a token when the API needs one.
 */
export function embedSnippet(
  listening: string,
  options: { publicUrl: URL | null; corsOrigins: readonly string[]; filesSecret: string | null },
): string {
  const base = options.publicUrl ?? new URL(listening);
  const script = new URL(WIDGET_PATH.replace(/^\//, ''), base.href.endsWith('/') ? base : `${base.href}/`);
  const cors = options.corsOrigins.length
    ? `pages of ${options.corsOrigins.join(', ')} may call it (--cors-origins)`
    : 'add your chat page origin with --cors-origins https://chat.example.com, or the browser refuses its requests';
  const lines = [
    `[sidecar] embed the files in your chat page (${cors}):`,
    `  <script type="module" src="${script.href}"></script>`,
    options.filesSecret
      ? '  <generated-files chat-id="CHAT_ID" token="TOKEN"></generated-files>'
      : '  <generated-files chat-id="CHAT_ID"></generated-files>',
  ];
  if (options.filesSecret)
    lines.push(
      '  TOKEN: generated-files-sidecar token --chat CHAT_ID --ttl 1h (the same FILES_API_SECRET), or an HS256 JWT with a "chat" claim from your app',
    );
  return lines.join('\n');
}
