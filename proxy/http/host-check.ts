import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { RequestHandler } from 'express';
import { HOST_NOT_ALLOWED_MESSAGE, type HostAllowList } from '../allowed-hosts.ts';
import { refuseUpgrade, sendJsonError } from '../errors.ts';

/** Before any route: a Host we were not configured for is a DNS-rebinding page or a mistake (403). */
export function hostCheck(hosts: HostAllowList): RequestHandler {
  return (req, res, next) => {
    if (hosts.allows(req.headers.host)) return next();
    sendJsonError(res, { code: 'ERR_HOST_NOT_ALLOWED', message: HOST_NOT_ALLOWED_MESSAGE, jupyter: true });
  };
}

/** The same check for an upgrade: refuses it (403) and returns false for a Host not allowed. */
export function upgradeHostAllowed(hosts: HostAllowList, req: IncomingMessage, socket: Duplex): boolean {
  if (hosts.allows(req.headers.host)) return true;
  socket.on('error', () => socket.destroy());
  refuseUpgrade(socket, { code: 'ERR_HOST_NOT_ALLOWED', message: HOST_NOT_ALLOWED_MESSAGE, jupyter: true });
  return false;
}
