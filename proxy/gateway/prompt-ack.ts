import type { WebSocket } from 'ws';

/**
 * Makes the sidecar acknowledge the gateway's messages at once.
 *
 * Jupyter Server (Tornado) leaves Nagle's algorithm on for its kernel WebSockets: a small message
 * written while the previous one is still unacknowledged waits for the reader's ACK, and Linux
 * delays that ACK by 40 ms when the reader has nothing to send back. On a stock server that stall
 * lands on most executions: a `1+1` round trip takes ~44 ms instead of ~4. So after each read
 * that brought messages, the sidecar sends the gateway an unsolicited pong (RFC 6455 §5.5.3: a
 * pong "MAY be sent unsolicited"; no answer is expected), which carries the ACK with it.
 *
 * One 6-byte frame per read, not per message: messages of one read arrive in one turn of the
 * event loop, and the pong leaves after them.
 */
export function acknowledgePromptly(gateway: WebSocket): void {
  let due = false;
  const acknowledge = () => {
    due = false;
    if (gateway.readyState === gateway.OPEN) gateway.pong();
  };
  gateway.on('message', () => {
    if (due) return;
    due = true;
    process.nextTick(acknowledge);
  });
}
