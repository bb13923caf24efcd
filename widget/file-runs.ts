import type { FileSummary } from '../contract/files-api.ts';

/** The files one run of code made (one execution), or those saved outside any run. */
export interface Run {
  /** `run:<msgId>` for an execution; the source otherwise (`between-executions`, `restore`). */
  key: string;
  /** Runs are numbered from the oldest (1) in the list, so a run keeps its number as new ones come. */
  label: string;
  files: FileSummary[];
}

const OUTSIDE_RUNS: Record<string, string> = {
  'between-executions': 'Saved between runs',
  restore: 'Restored',
};

/**
 * Groups files (newest first) by the run that made them, newest run first: the execution's
 * message id names a run. Files that no execution made share a group per source.
 */
export function runsOf(files: readonly FileSummary[]): Run[] {
  const byKey = new Map<string, Run>();
  for (const file of files) {
    const key = file.execution ? `run:${file.execution.msgId}` : file.source;
    let run = byKey.get(key);
    if (!run) byKey.set(key, (run = { key, label: '', files: [] }));
    run.files.push(file);
  }
  const runs = [...byKey.values()];
  let number = runs.filter((r) => r.key.startsWith('run:')).length;
  for (const run of runs)
    run.label = run.key.startsWith('run:') ? `Run ${number--}` : (OUTSIDE_RUNS[run.key] ?? 'Other files');
  return runs;
}

/** Files whose path holds the filter's text, ignoring case; all of them for an empty filter. */
export function matching(files: readonly FileSummary[], filter: string): FileSummary[] {
  const wanted = filter.trim().toLowerCase();
  return wanted ? files.filter((f) => f.path.toLowerCase().includes(wanted)) : [...files];
}
