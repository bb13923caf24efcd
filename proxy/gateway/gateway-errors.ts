import { ERRORS } from '../errors.ts';

export type GatewayFailureCode =
  'ERR_GATEWAY_TIMEOUT' | 'ERR_GATEWAY_UNREACHABLE' | 'ERR_GATEWAY_FAILED' | 'ERR_SIDECAR_CLOSING';

/**
 * What a network error talking to the gateway means for the client (status and message: errors.ts's
 * table): a pure function, tested from a table.
 */
export function gatewayFailure(errorCode: string | undefined): { code: GatewayFailureCode; status: number } {
  const code = gatewayCode(errorCode);
  return { code, status: ERRORS[code].status };
}

function gatewayCode(errorCode: string | undefined): GatewayFailureCode {
  switch (errorCode) {
    case 'ETIMEDOUT':
    case 'ESOCKETTIMEDOUT':
    case 'ERR_GATEWAY_TIMEOUT':
      return 'ERR_GATEWAY_TIMEOUT';
    case 'ECONNREFUSED':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return 'ERR_GATEWAY_UNREACHABLE';
    case 'ERR_SIDECAR_CLOSING':
      return 'ERR_SIDECAR_CLOSING';
    default:
      return 'ERR_GATEWAY_FAILED';
  }
}
