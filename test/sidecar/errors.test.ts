import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clientReplyFor, errorCode, SidecarError, statusForCode } from '../../proxy/errors.ts';
import { ChatAssignmentError } from '../../proxy/chats/chat-assignment.ts';
import { InvalidChatIdError } from '../../proxy/chats/chat-id.ts';

describe('the error vocabulary', () => {
  it('reads a code off anything thrown', () => {
    for (const [thrown, code] of [
      [Object.assign(new Error('x'), { code: 'ENOENT' }), 'ENOENT'],
      [{ code: '3D000' }, '3D000'],
      [new SidecarError('ERR_NOT_FOUND', 'x'), 'ERR_NOT_FOUND'],
      [new Error('plain'), undefined],
      ['a string', undefined],
      [null, undefined],
    ] as const)
      assert.equal(errorCode(thrown), code);
  });

  it('one table gives every status; unknown codes are 500', () => {
    for (const [code, status] of [
      ['ERR_INVALID_CHAT_ID', 400],
      ['ERR_CHAT_REQUIRED', 400],
      ['ERR_HOST_NOT_ALLOWED', 403],
      ['ERR_CHAT_OTHER_OWNER', 409],
      ['ERR_KERNEL_OTHER_CHAT', 409],
      ['ERR_GATEWAY_TIMEOUT', 504],
      ['ERR_STORE_UNAVAILABLE', 503],
      ['ERR_SOMETHING_NEW', 500],
    ] as const)
      assert.equal(statusForCode(code), status, code);
    assert.equal(new InvalidChatIdError('../x').status, 400);
    assert.equal(new ChatAssignmentError('ERR_KERNEL_OTHER_CHAT', 'x').status, 409);
  });

  it('what a client sees: its own message, a fixed one, or ERR_INTERNAL', () => {
    assert.deepEqual(clientReplyFor(new SidecarError('ERR_NOT_FOUND', 'No such route.')), {
      status: 404,
      code: 'ERR_NOT_FOUND',
      message: 'No such route.',
      logged: false,
    });
    assert.deepEqual(clientReplyFor(new SidecarError('ERR_GATEWAY_TIMEOUT', 'http://10.0.0.1:8888 timed out')), {
      status: 504,
      code: 'ERR_GATEWAY_TIMEOUT',
      message: 'The Jupyter gateway did not answer in time.',
      logged: true,
    });
    for (const thrown of [new SidecarError('ERR_SCAN_TIMEOUT', '/srv/x'), new Error('boom'), 'a string'])
      assert.deepEqual(clientReplyFor(thrown), {
        status: 500,
        code: 'ERR_INTERNAL',
        message: 'Internal sidecar error.',
        logged: true,
      });
  });
});
