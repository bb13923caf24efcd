import { SidecarError } from '../errors.ts';

/** A scan (or one of its walks) that went past its time limit; what it had not done is left for the next one. */
export class ScanTimeoutError extends SidecarError<'ERR_SCAN_TIMEOUT'> {
  constructor(what: string, timeoutMs: number) {
    super(
      'ERR_SCAN_TIMEOUT',
      `Gave up ${what} after ${timeoutMs} ms (--scan-timeout-s): the file system is slow or stuck; files not recorded now are found by the next scan.`,
    );
  }
}
