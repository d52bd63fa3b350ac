// Offline: packed float32 decoding, google.rpc.Status decoding, argument mapping, service config.

import assert from 'node:assert/strict';
import test from 'node:test';

import { Metadata } from '@grpc/grpc-js';

import { Code, JobMatchError, codeName, decodePacked, decodeStatus, serviceConfig } from '../src/index.js';
import { embedRequest, queryKindValue, sideName, sideValue } from '../src/codec.js';
import { rpcTypes } from '../src/protos.js';

test('decodePacked copies unaligned little-endian bytes', () => {
  const values = [1.5, -2.25, 3.0e-8, 42];
  const bytes = Buffer.from(new Float32Array(values).buffer);
  // A Buffer that views a larger pool at an odd offset, as gRPC hands them out.
  const pool = Buffer.alloc(bytes.length + 3);
  bytes.copy(pool, 1);
  const view = pool.subarray(1, 1 + bytes.length);
  assert.equal(view.byteOffset % 4, 1);
  const vector = decodePacked(view);
  assert.deepEqual(Array.from(vector), Array.from(new Float32Array(values)));
  pool.fill(0); // the result owns its memory
  assert.equal(vector[0], 1.5);
  assert.throws(() => decodePacked(Buffer.alloc(6)), RangeError);
});

test('sides and query kinds map to the proto enum names', () => {
  assert.equal(sideValue('anchor'), 'SIDE_ANCHOR');
  assert.equal(sideValue('Positive'), 'SIDE_POSITIVE');
  assert.equal(sideValue('SIDE_ANCHOR'), 'SIDE_ANCHOR');
  assert.equal(sideValue(2), 'SIDE_POSITIVE');
  assert.equal(sideValue(undefined), 'SIDE_UNSPECIFIED');
  assert.throws(() => sideValue('query'), RangeError);
  assert.equal(sideName('SIDE_POSITIVE'), 'positive');
  assert.equal(queryKindValue('skills'), 'QUERY_KIND_SKILLS');
  assert.equal(queryKindValue('job-title'), 'QUERY_KIND_JOB_TITLE');
  assert.equal(queryKindValue(undefined), 'QUERY_KIND_UNSPECIFIED');
  assert.throws(() => queryKindValue('resume'), RangeError);
  const request = embedRequest(['a'], { side: 'anchor' });
  assert.equal(request.encoding, 'ENCODING_PACKED_FLOAT32');
  assert.ok(!('normalize' in request), 'normalize unset leaves the server default (true)');
  assert.equal(embedRequest(['a'], { normalize: false }).normalize, false);
});

test('service config: round_robin and retries on UNAVAILABLE / RESOURCE_EXHAUSTED', () => {
  const config = /** @type {any} */ (serviceConfig('round_robin', 4));
  assert.deepEqual(config.loadBalancingConfig, [{ round_robin: {} }]);
  assert.deepEqual(config.methodConfig[0].retryPolicy.retryableStatusCodes, ['UNAVAILABLE', 'RESOURCE_EXHAUSTED']);
  assert.equal(serviceConfig('pick_first', 1).methodConfig, undefined);
});

test('grpc-status-details-bin decodes into reason, field and retry delay', () => {
  const root = rpcTypes();
  const any = (/** @type {string} */ type, /** @type {object} */ value) => ({
    type_url: `type.googleapis.com/${type}`,
    value: root.lookupType(type).encode(root.lookupType(type).fromObject(value)).finish(),
  });
  const status = root.lookupType('google.rpc.Status').fromObject({
    code: 8,
    message: 'the queue is full',
    details: [
      any('google.rpc.ErrorInfo', { reason: 'QUEUE_FULL', domain: 'jobmatch.v1' }),
      any('google.rpc.BadRequest', { fieldViolations: [{ field: 'inputs[2]', description: 'too long' }] }),
      any('google.rpc.RetryInfo', { retryDelay: { seconds: 1, nanos: 500_000_000 } }),
      { type_url: 'type.googleapis.com/example.Unknown', value: new Uint8Array([1, 2]) },
    ],
  });
  const bytes = root.lookupType('google.rpc.Status').encode(status).finish();
  const decoded = decodeStatus(bytes);
  assert.equal(decoded.code, 8);
  assert.deepEqual(
    decoded.details.map((d) => d.type),
    ['google.rpc.ErrorInfo', 'google.rpc.BadRequest', 'google.rpc.RetryInfo', 'example.Unknown'],
  );

  const metadata = new Metadata();
  metadata.set('grpc-status-details-bin', Buffer.from(bytes));
  const error = JobMatchError.fromServiceError({ code: 8, details: 'the queue is full', metadata });
  assert.ok(error instanceof JobMatchError && error instanceof Error);
  assert.equal(error.code, Code.RESOURCE_EXHAUSTED);
  assert.equal(error.codeName, 'RESOURCE_EXHAUSTED');
  assert.equal(error.message, 'RESOURCE_EXHAUSTED: the queue is full');
  assert.equal(error.reason, 'QUEUE_FULL');
  assert.equal(error.domain, 'jobmatch.v1');
  assert.equal(error.field, 'inputs[2]');
  assert.equal(error.retryDelayMs, 1500);
  assert.equal(error.retryable, true);

  const bare = JobMatchError.fromServiceError({ code: 13, details: 'boom', metadata: new Metadata() });
  assert.equal(bare.reason, '');
  assert.equal(bare.field, null);
  assert.equal(bare.retryDelayMs, null);
  assert.equal(codeName(4), 'DEADLINE_EXCEEDED');
});
