/**
 * Counts scans and uploads in progress, and lets one section (retention's blob collection) run
 * while none does: scans and uploads that arrive meanwhile wait until it ends.
 */
export class ScanGate {
  #active = 0;
  #gate: Promise<void> | null = null;

  /** Scans and uploads in progress. */
  get active(): number {
    return this.#active;
  }

  /** Runs a scan or an upload, once no idle section holds the gate. */
  async busy<T>(work: () => Promise<T>): Promise<T> {
    while (this.#gate) await this.#gate;
    this.#active++;
    try {
      return await work();
    } finally {
      this.#active--;
    }
  }

  /**
   * Runs `section` while no scan or upload runs, holding new ones until it ends.
   * Returns false (without running it) when one is already in progress.
   */
  async whileIdle(section: () => Promise<void>): Promise<boolean> {
    if (this.#active > 0 || this.#gate) return false;
    let release!: () => void;
    this.#gate = new Promise((resolve) => (release = resolve));
    try {
      await section();
      return true;
    } finally {
      this.#gate = null;
      release();
    }
  }
}
