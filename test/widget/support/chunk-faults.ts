/**
 * Copies of the script-tag bundle, each at a URL of its own, whose lazy chunks
 * (`generated-files-*.js`) can be held or cut off on cue, as @web/test-runner middleware. The
 * element imports a chunk relative to its own URL, so a copy's chunks come from its folder: never
 * from the browser's cache (the runner lets it keep files for a year), and never from another
 * test's cue. Tests drive it over /__chunk-faults/{copy}/...:
 *   GET  widget/{file}  -> dist/widget/{file}, as built; a chunk as the copy's cue says
 *   POST hold           -> the copy's chunk requests wait
 *   GET  held           -> answers once one is waiting
 *   POST fail           -> waiting and later ones have their connection cut, as a dropped network would
 *   POST serve          -> waiting and later ones are served (the default)
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Middleware } from 'koa';

const PREFIX = '/__chunk-faults/';
const WIDGET_DIR = path.resolve('dist/widget');

interface Cue {
  mode: 'hold' | 'fail' | 'serve';
  waiting: number;
  /** Called when the mode changes or a request starts waiting. */
  watchers: Set<() => void>;
}

export function chunkFaults(): Middleware {
  const cues = new Map<string, Cue>();
  const cue = (copy: string) => {
    let c = cues.get(copy);
    if (!c) cues.set(copy, (c = { mode: 'serve', waiting: 0, watchers: new Set() }));
    return c;
  };
  const changed = (c: Cue) => {
    for (const watcher of [...c.watchers]) watcher();
  };
  const until = (c: Cue, done: () => boolean) =>
    new Promise<void>((resolve) => {
      const check = () => {
        if (!done()) return;
        c.watchers.delete(check);
        resolve();
      };
      c.watchers.add(check);
      check();
    });

  return async (ctx, next) => {
    if (!ctx.path.startsWith(PREFIX)) return next();
    const [copy = '', action = '', file = ''] = ctx.path.slice(PREFIX.length).split('/');
    const c = cue(copy);
    if (action === 'widget' && /^generated-files[\w.-]*\.js(\.map)?$/.test(file)) {
      if (/^generated-files-.*\.js$/.test(file)) {
        if (c.mode === 'hold') {
          c.waiting++;
          changed(c);
          await until(c, () => c.mode !== 'hold');
          c.waiting--;
        }
        if (c.mode === 'fail') {
          // No answer at all: the browser's import() rejects. The status is only for the
          // runner, which would otherwise list the file as missing (a 404).
          ctx.status = 502;
          ctx.respond = false;
          ctx.req.socket.destroy();
          return;
        }
      }
      ctx.type = file.endsWith('.map') ? 'json' : 'js';
      ctx.body = await readFile(path.join(WIDGET_DIR, file));
      return;
    }
    if (action === 'held') {
      // A signal, not a poll: the test's own timeout bounds a failure.
      await until(c, () => c.waiting > 0);
    } else if (action === 'hold' || action === 'fail' || action === 'serve') {
      c.mode = action;
      changed(c);
    } else {
      ctx.status = 404;
      return;
    }
    ctx.body = { mode: c.mode, waiting: c.waiting };
  };
}
