import { statusForCode } from '../errors.ts';

export interface GatewayFailure {
  status: 502 | 503 | 504;
  code: string;
  message: string;
}

/** What a network error talking to the gateway means for the client: a pure function, tested from a table. */
export function gatewayFailure(errorCode: string | undefined): GatewayFailure {
  const { code, message } = gatewayCause(errorCode);
  return { status: statusForCode(code) as GatewayFailure['status'], code, message };
}

function gatewayCause(errorCode: string | undefined): { code: string; message: string } {
  switch (errorCode) {
    case 'ETIMEDOUT':
    case 'ESOCKETTIMEDOUT':
    case 'ERR_GATEWAY_TIMEOUT':
      return { code: 'ERR_GATEWAY_TIMEOUT', message: 'The Jupyter gateway did not answer in time.' };
    case 'ECONNREFUSED':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return { code: 'ERR_GATEWAY_UNREACHABLE', message: 'The Jupyter gateway cannot be reached. Is it running?' };
    case 'ERR_SIDECAR_CLOSING':
      return { code: 'ERR_SIDECAR_CLOSING', message: 'The sidecar is shutting down. Try again shortly.' };
    default:
      return { code: 'ERR_GATEWAY_FAILED', message: 'The connection to the Jupyter gateway failed.' };
  }
}
