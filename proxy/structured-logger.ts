/**
 * The Logger the entry point passes in (logger.ts keeps the seam): pino underneath, one JSON object
 * per line for log collectors, or readable lines on a terminal. Every line carries what an
 * operator filters by: `level`, `time`, `component` (the `[sidecar]` tag of the message), and from
 * the request it was written for (`logContext`, set at the HTTP and upgrade edges): `reqId`,
 * `kernelId` and, unless the operator turned it off, `chatId`.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { pino, type DestinationStream, type Logger as Pino } from 'pino';
import type { Logger } from './logger.ts';

/** What a log line says about the request it was written for. */
export interface LogContext {
  reqId: string;
  kernelId?: string;
  chatId?: string;
}

/** Set at the edges (a request, an upgrade); read by every line written while handling it. */
export const logContext = new AsyncLocalStorage<LogContext>();

export type StructuredLogger = Logger & Pick<Console, 'debug'>;

export interface StructuredLoggerOptions {
  format: 'json' | 'pretty';
  level: 'debug' | 'info' | 'warn' | 'error' | 'silent';
  /** Leave chat ids out of lines (a field and in messages): they may identify a user's conversation. */
  chatIds: boolean;
  /** Where lines go; stdout by default. */
  destination?: { write(line: string): unknown };
}

const TAG = /^\[([a-z][a-z0-9-]*)\] /;
const CHAT_IN_TEXT = /(\bchats?[ /=:]+)(?!…)[A-Za-z0-9][A-Za-z0-9._~-]*/g;

/** `{ component, msg }` from `[component] msg`. */
function splitTag(message: string): { component?: string; msg: string } {
  const match = TAG.exec(message);
  return match ? { component: match[1], msg: message.slice(match[0].length) } : { msg: message };
}

/** One readable line per JSON line: time, level, component, message, then the context fields. */
export function prettyLine(json: string): string {
  const { time, level, component, msg, ...rest } = JSON.parse(json) as Record<string, unknown>;
  const clock = new Date(Number(time)).toISOString().slice(11, 23);
  const fields = Object.entries(rest)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
  const tag = component ? `[${String(component)}] ` : '';
  return `${clock} ${String(level).toUpperCase().padEnd(5)} ${tag}${String(msg)}${fields ? `  ${fields}` : ''}\n`;
}

export function createStructuredLogger(options: StructuredLoggerOptions): StructuredLogger {
  const out = options.destination ?? process.stdout;
  const destination: DestinationStream =
    options.format === 'pretty'
      ? { write: (line: string) => out.write(prettyLine(line)) }
      : options.destination
        ? { write: (line: string) => out.write(line) }
        : pino.destination({ dest: 1, sync: true });
  const base: Pino = pino(
    {
      level: options.level,
      base: undefined,
      messageKey: 'msg',
      formatters: { level: (label) => ({ level: label }) },
      mixin() {
        const context = logContext.getStore();
        if (!context) return {};
        const { chatId, ...rest } = context;
        return options.chatIds && chatId !== undefined ? { ...rest, chatId } : rest;
      },
    },
    destination,
  );
  const hideChats = (msg: string) => (options.chatIds ? msg : msg.replace(CHAT_IN_TEXT, '$1…'));
  const write =
    (level: 'debug' | 'info' | 'warn' | 'error') =>
    (...args: unknown[]) => {
      const text = args.map((a) => (typeof a === 'string' ? a : a instanceof Error ? a.message : String(a))).join(' ');
      const { component, msg } = splitTag(text);
      base[level](component ? { component } : {}, hideChats(msg));
    };
  return { debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error') };
}

/** pretty on a terminal, JSON lines otherwise (a pipe, a file, a container's log driver). */
export function defaultLogFormat(stream: { isTTY?: boolean } = process.stdout): 'json' | 'pretty' {
  return stream.isTTY ? 'pretty' : 'json';
}
