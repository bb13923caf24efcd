import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { RequestHandler } from 'express';
import { HOST_NOT_ALLOWED, type HostAllowList } from '../allowed-hosts.ts';
import { refuseUpgrade, sendJsonError } from '../errors.ts';

/** Before any route: a Host we were not configured for is a DNS-rebinding page or a mistake (403). */
export function hostCheck(hosts: HostAllowList): RequestHandler {
  return (req, res, next) => {
    if (hosts.allows(req.headers.host)) return next();
    sendJsonError(res, { ...HOST_NOT_ALLOWED, jupyter: true });
  };
}

/** The same check for an upgrade: refuses it (403) and returns false for a Host not allowed. */
export function upgradeHostAllowed(hosts: HostAllowList, req: IncomingMessage, socket: Duplex): boolean {
  if (hosts.allows(req.headers.host)) return true;
  socket.on('error', () => socket.destroy());
  refuseUpgrade(socket, { ...HOST_NOT_ALLOWED, jupyter: true });
  return false;
}
