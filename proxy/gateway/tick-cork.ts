import type { Duplex } from 'node:stream';
import type { RelaySocket } from './relay-socket.ts';

const held = new WeakSet<Duplex>();

/**
 * Holds a WebSocket's writes until the current tick's work is done, so the frames the relay sends
 * for one read from the other side (often dozens of small output messages) leave in one `writev`
 * instead of one system call each: the per-message syscall was the relay's largest CPU cost.
 * `ws` corks around each frame itself; corks nest, so ours keeps them all until the next tick.
 */
export function holdWritesUntilNextTick(ws: RelaySocket): void {
  // ws keeps its socket in `_socket` (stable through ws 8); without one (an in-process socket) there is nothing to hold.
  const socket = (ws as unknown as { _socket?: Duplex })._socket;
  if (!socket || held.has(socket) || socket.destroyed) return;
  held.add(socket);
  socket.cork();
  process.nextTick(() => {
    held.delete(socket);
    socket.uncork();
  });
}
