/** One upload on the wire: the element's overridable seam for uploads (see `sendUpload`). */
export interface UploadRequest {
  url: string;
  body: Blob;
  headers: Record<string, string>;
  /** Bytes of the body sent so far. */
  onProgress(sent: number, total: number): void;
}

export interface UploadTransfer {
  /** The status and body text; rejects on a network failure or abort. */
  response: Promise<{ status: number; body: string }>;
  abort(): void;
}

/** PUT with XMLHttpRequest: fetch reports no upload progress. */
export function xhrUpload(request: UploadRequest): UploadTransfer {
  const xhr = new XMLHttpRequest();
  const response = new Promise<{ status: number; body: string }>((resolve, reject) => {
    xhr.open('PUT', request.url);
    for (const [name, value] of Object.entries(request.headers)) xhr.setRequestHeader(name, value);
    xhr.upload.onprogress = (event) =>
      request.onProgress(event.loaded, event.lengthComputable ? event.total : request.body.size);
    xhr.onload = () => resolve({ status: xhr.status, body: xhr.responseText });
    xhr.onerror = () => reject(new Error('Network error'));
    xhr.onabort = () => reject(new DOMException('Canceled', 'AbortError'));
    xhr.send(request.body);
  });
  return { response, abort: () => xhr.abort() };
}
