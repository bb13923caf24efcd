import {
  filesApiPaths,
  type ErrorResponse,
  type FileLinkResponse,
  type FileListResponse,
} from '../contract/files-api.ts';

/** Returns the current token; `refresh` is true after a 401, asking for a new one. */
export type TokenSource = (options: { refresh: boolean }) => Promise<string | null>;

export interface FilesClientOptions {
  /** The sidecar base URL (origin, optionally with a path prefix). */
  base: string;
  chatId: string;
  token: TokenSource;
  /** The one network call; the element passes its overridable `fetch`. */
  send: (request: Request) => Promise<Response>;
}

/** An HTTP error from the files API, with the sidecar's error code when it sent one. */
export class FilesApiError extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.name = 'FilesApiError';
    this.status = status;
    this.code = code;
  }
}

/** Adds `?token=` for requests that cannot carry a header (EventSource, plain links). */
export function withToken(url: string, token: string | null): string {
  if (!token) return url;
  const u = new URL(url);
  u.searchParams.set('token', token);
  return u.href;
}

/**
 * URLs and authenticated requests for one chat's files. Tokens travel as
 * `Authorization: Bearer`; a 401 asks the token source for a fresh one and
 * retries once.
 */
export class FilesClient {
  readonly #options: FilesClientOptions;

  constructor(options: FilesClientOptions) {
    this.#options = options;
  }

  /** An absolute URL for a path on the sidecar: the base's origin and path prefix, then the path. */
  url(path: string): string {
    return `${this.#options.base.replace(/\/+$/, '')}${path}`;
  }

  get filesUrl(): string {
    return this.url(filesApiPaths.files(this.#options.chatId));
  }

  get eventsUrl(): string {
    return this.url(filesApiPaths.events(this.#options.chatId));
  }

  get archiveUrl(): string {
    return this.url(filesApiPaths.archive(this.#options.chatId));
  }

  get chatId(): string {
    return this.#options.chatId;
  }

  uploadUrl(relPath: string): string {
    return this.url(filesApiPaths.upload(this.#options.chatId, relPath));
  }

  /** A plain URL the browser can download without our headers: a file version's, or the zip's with `fileId` null. */
  async link(fileId: string | null): Promise<FileLinkResponse> {
    const chatId = this.#options.chatId;
    const path = fileId === null ? filesApiPaths.archiveLink(chatId) : filesApiPaths.fileLink(chatId, fileId);
    const response = await this.request(this.url(path), { method: 'POST', headers: { Accept: 'application/json' } });
    const link = (await response.json()) as FileLinkResponse;
    return { ...link, url: this.contentUrl(link.url) };
  }

  /** `downloadUrl` is relative to the sidecar origin; a base path prefix is kept. */
  contentUrl(downloadUrl: string, inline = false): string {
    const url = /^[a-z][a-z\d+.-]*:/i.test(downloadUrl)
      ? new URL(downloadUrl)
      : new URL(this.#options.base.replace(/\/+$/, '') + (downloadUrl.startsWith('/') ? '' : '/') + downloadUrl);
    if (inline) url.searchParams.set('disposition', 'inline');
    return url.href;
  }

  token(refresh = false): Promise<string | null> {
    return this.#options.token({ refresh });
  }

  async list(signal?: AbortSignal): Promise<FileListResponse> {
    const response = await this.request(this.filesUrl, { headers: { Accept: 'application/json' }, signal });
    return (await response.json()) as FileListResponse;
  }

  async blob(url: string, signal?: AbortSignal): Promise<Blob> {
    return (await this.request(url, { signal })).blob();
  }

  /** GET with auth; throws FilesApiError on a non-2xx answer. */
  async request(url: string, init: RequestInit = {}): Promise<Response> {
    let response = await this.#send(url, init, false);
    if (response.status === 401) response = await this.#send(url, init, true);
    if (!response.ok) throw await errorFrom(response);
    return response;
  }

  async #send(url: string, init: RequestInit, refresh: boolean): Promise<Response> {
    const token = await this.token(refresh);
    const headers = new Headers(init.headers);
    if (token) headers.set('Authorization', `Bearer ${token}`);
    return this.#options.send(new Request(url, { ...init, headers }));
  }
}

export async function errorFrom(response: Response): Promise<FilesApiError> {
  let code = `HTTP_${response.status}`;
  let message = response.statusText || `Request failed with status ${response.status}`;
  try {
    const body = (await response.json()) as Partial<ErrorResponse>;
    if (body.error?.code) code = body.error.code;
    if (body.error?.message) message = body.error.message;
  } catch {
    // Not the sidecar's JSON (a gateway or proxy page): keep the status line.
  }
  return new FilesApiError(response.status, code, message);
}
