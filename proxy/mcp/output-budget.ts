/**
 * Text a model reads, cut to `limit` characters: the head and the tail (where the error usually
 * is), with a note between them of what was cut. Text within the limit is returned as it is.
 */
export function withinOutputBudget(text: string, limit: number): string {
  if (text.length <= limit) return text;
  const cut = text.length - limit;
  const note = `\n[… ${cut} characters of output cut here (the output was ${text.length} characters; the limit is ${limit}). Print less, or write the full output to a file in /mnt/data …]\n`;
  const head = Math.ceil(limit * 0.4);
  return `${text.slice(0, head)}${note}${text.slice(text.length - (limit - head))}`;
}

/** Images a result carries at most, and their base64 bytes in total: more are counted, not sent. */
export const MAX_RESULT_IMAGES = 8;
export const MAX_RESULT_IMAGE_CHARS = 8 * 1024 * 1024;
