import { statfs } from 'node:fs/promises';

/**
 * `statfs` type numbers of file systems whose calls can block for as long as a server is away:
 * network and FUSE file systems (linux/magic.h and the file systems' own sources).
 */
const REMOTE_FILE_SYSTEMS = new Map<number, string>([
  [0x6969, 'nfs'],
  [0xff534d42, 'cifs'],
  [0xfe534d42, 'smb2'],
  [0x517b, 'smb'],
  [0x65735546, 'fuse'],
  [0x00c36400, 'ceph'],
  [0x01021997, 'v9fs'],
  [0x0bd00bd0, 'lustre'],
  [0x47504653, 'gpfs'],
  [0x5346414f, 'afs'],
  [0x6b414653, 'afs'],
  [0x73757245, 'coda'],
  [0x564c, 'ncp'],
  [0x013111a8, 'ibrix'],
  [0x19830326, 'fhgfs/beegfs'],
]);

/**
 * The name of a remote file system by its statfs type, or null for a local one (ext4, xfs,
 * tmpfs, overlay, ...). Public as a pure function over the magic-number table, tested from the
 * table: no test machine mounts NFS, Lustre or GPFS, so `remoteFileSystemAt` alone could not
 * show that those are named.
 */
export function remoteFileSystemOf(type: number): string | null {
  return REMOTE_FILE_SYSTEMS.get(type) ?? null;
}

/** The remote file system `dir` is on (calls there could hang on a server, so never on the event loop), or null. */
export async function remoteFileSystemAt(dir: string): Promise<string | null> {
  return remoteFileSystemOf((await statfs(dir)).type);
}
