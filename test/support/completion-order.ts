/**
 * Kernel code that forces the order in which an execution's execute_reply and its iopub
 * messages reach whoever reads the kernel's socket: the kernel itself is made to delay one of
 * them (a sleep on ipykernel's iopub thread, or a deferred reply), so no test waits for time.
 * Each also writes a small file at `target` and has a stream output and an execute_result.
 */
export type CompletionOrder = 'reply-first' | 'idle-first';

/**
 * reply-first: the iopub thread is held for 0.5 s, and the end-of-cell flush (which would wait
 * for it) gives up after 50 ms, so execute_reply leaves before any output: the sidecar sees the
 * reply, then the stream and execute_result, then idle. (ipykernel then prints "IOStream.flush
 * timed out" after idle: a side effect of the shortened flush.)
 */
function replyFirst(target: string): string {
  return [
    'import sys, time',
    `open(${JSON.stringify(target)}, 'w').write('reply first')`,
    'k = get_ipython().kernel',
    'parent = k.get_parent()',
    'def late_output():',
    '    time.sleep(0.5)',
    "    k.session.send(k.iopub_thread.socket, 'stream', {'name': 'stdout', 'text': 'late output\\n'}, parent=parent)",
    'sys.stdout.flush_timeout = sys.stderr.flush_timeout = 0.05',
    'k.iopub_thread.schedule(late_output)',
    "'result'",
  ].join('\n');
}

/** idle-first: this cell's execute_reply is sent 0.5 s after the kernel has gone idle. */
function idleFirst(target: string): string {
  return [
    `open(${JSON.stringify(target)}, 'w').write('idle first')`,
    'k = get_ipython().kernel',
    'send = k.session.send',
    'def deferred_reply(stream, msg_type, *args, **kwargs):',
    "    if msg_type != 'execute_reply':",
    '        return send(stream, msg_type, *args, **kwargs)',
    '    k.session.send = send',
    '    k.io_loop.call_later(0.5, lambda: send(stream, msg_type, *args, **kwargs))',
    "    return {'content': {'status': 'ok'}}",
    'k.session.send = deferred_reply',
    "print('output')",
    "'result'",
  ].join('\n');
}

export function codeWithCompletionOrder(order: CompletionOrder, target: string): string {
  return order === 'reply-first' ? replyFirst(target) : idleFirst(target);
}
