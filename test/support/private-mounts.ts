import { spawnSync } from 'node:child_process';

/** Can this user make a mount namespace of its own (`unshare -r -m`), to give a process a disk, or hide one? */
export function privateMountsAvailable(): boolean {
  return spawnSync('unshare', ['-r', '-m', 'true']).status === 0;
}
