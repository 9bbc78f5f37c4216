import { ApiCallError, ContextLengthError } from '@shammah/provider';
import { describe, expect, it } from 'vitest';
import { InvalidRequestError, QueueFullError } from './errors.js';
import { errorBody, protocolOfPath, toHttpError } from './http-errors.js';

describe('toHttpError', () => {
  it('maps known codes to statuses and both protocols’ error types', () => {
    const invalid = toHttpError(new InvalidRequestError('bad n', { param: 'n' }), 'req_1');
    expect(invalid).toMatchObject({ status: 400, param: 'n', openaiType: 'invalid_request_error' });
    expect(errorBody(invalid, 'anthropic', 'req_1')).toEqual({
      type: 'error',
      error: { type: 'invalid_request_error', message: 'bad n' },
      request_id: 'req_1',
    });
    expect(toHttpError(new ContextLengthError(9000, 8192), 'r')).toMatchObject({
      status: 400,
      code: 'context_length_exceeded',
    });
    const full = toHttpError(new QueueFullError(3, 7), 'r');
    expect(full).toMatchObject({ status: 429, retryAfterSeconds: 7, anthropicType: 'rate_limit_error' });
  });

  it("passes a teacher's rate limit and its retry-after through", () => {
    const error = new ApiCallError('slow down', {
      kind: 'rate-limit',
      provider: 'openai',
      retryAfterMs: 2500,
    });
    expect(toHttpError(error, 'r')).toMatchObject({ status: 429, retryAfterSeconds: 3 });
    const timeout = new ApiCallError('late', { kind: 'timeout', provider: 'openai' });
    expect(toHttpError(timeout, 'r')).toMatchObject({ status: 504, anthropicType: 'api_error' });
  });

  it('reports the failure a router wrapped when it is one the daemon knows', () => {
    const wrapped = Object.assign(new Error('No model could answer: local (busy)'), {
      code: 'router_no_route_answered',
      cause: new QueueFullError(3, 4),
    });
    expect(toHttpError(wrapped, 'r')).toMatchObject({ status: 429, internalCode: 'queue_full' });
    const opaque = Object.assign(new Error('No model could answer'), {
      code: 'router_no_route_answered',
      cause: new Error('boom'),
    });
    expect(toHttpError(opaque, 'r')).toMatchObject({ status: 502 });
  });

  it('turns anything unknown into a 500 that names the request, not the error', () => {
    const error = toHttpError(new TypeError('x is undefined at /secret/path.js:1:2'), 'req_42');
    expect(error.status).toBe(500);
    expect(error.unexpected).toBe(true);
    expect(error.message).toContain('req_42');
    expect(error.message).not.toContain('secret');
    expect(toHttpError('a thrown string', 'r').status).toBe(500);
  });

  it('picks the error shape by path', () => {
    expect(protocolOfPath('/v1/messages')).toBe('anthropic');
    expect(protocolOfPath('/v1/messages/count_tokens')).toBe('anthropic');
    expect(protocolOfPath('/v1/chat/completions')).toBe('openai');
    expect(protocolOfPath('/v1/messagesx')).toBe('openai');
  });
});
