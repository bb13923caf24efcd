import { open } from 'node:fs/promises';

/**
 * fsyncs a folder, making a file created or renamed in it durable. Some platforms cannot fsync
 * a folder; that is ignored, as the blob store does.
 */
export async function syncFolder(dir: string): Promise<void> {
  const handle = await open(dir, 'r').catch(() => null);
  try {
    await handle?.sync().catch(() => {});
  } finally {
    await handle?.close().catch(() => {});
  }
}
