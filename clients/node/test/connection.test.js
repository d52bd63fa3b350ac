// Connecting: API keys, TLS and mutual TLS against a secured server, and round_robin over dns:///.
// tests/test_node_client.py starts a server with mutual TLS and an API key and sets JOBMATCH_SECURE_*.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import test from 'node:test';

import { JobMatchClient, channelCredentials } from '../src/index.js';
import { NO_SERVER, TARGET, rejection } from './helpers.js';

const SECURE = process.env.JOBMATCH_SECURE_TARGET ?? '';
const KEY = process.env.JOBMATCH_SECURE_API_KEY ?? '';
const CA = process.env.JOBMATCH_SECURE_CA ?? '';
const CERT = process.env.JOBMATCH_SECURE_CLIENT_CERT ?? '';
const CERT_KEY = process.env.JOBMATCH_SECURE_CLIENT_KEY ?? '';
const OTHER_CA = process.env.JOBMATCH_SECURE_OTHER_CA ?? '';
const NO_SECURE = SECURE ? false : 'JOBMATCH_SECURE_TARGET not set: run through tests/test_node_client.py';

/** A client of the secured server; `options` replace the working ones. */
function secured(options = {}) {
  return new JobMatchClient(SECURE, {
    timeoutMs: 30_000,
    maxAttempts: 1,
    apiKey: KEY,
    caCert: CA,
    clientCert: CERT,
    clientKey: CERT_KEY,
    ...options,
  });
}

test('mutual TLS and an API key: every kind of call goes through', { skip: NO_SECURE }, async () => {
  const client = secured({ caCert: readFileSync(CA) }); // a Buffer works as well as a path
  try {
    assert.equal((await client.listModels())[0].name, 'jobbert');
    const [vector] = await client.embed(['nurse'], { side: 'anchor' });
    assert.equal(vector.length, 48);
    const streamed = [];
    for await (const result of client.embedStream(['nurse', 'cook'], { side: 'positive' })) streamed.push(result);
    assert.equal(streamed.length, 2);
  } finally {
    client.close();
  }
});

test('a missing or wrong API key: UNAUTHENTICATED, unary and streaming', { skip: NO_SECURE }, async () => {
  for (const apiKey of [undefined, 'not-the-key-0000']) {
    const client = secured({ apiKey });
    try {
      const unary = await rejection(client.listModels());
      assert.equal(unary.codeName, 'UNAUTHENTICATED');
      assert.equal(unary.reason, 'UNAUTHENTICATED');
      const stream = await rejection(
        (async () => {
          for await (const _ of client.embedStream(['nurse'], { side: 'anchor' })) void _;
        })(),
      );
      assert.equal(stream.codeName, 'UNAUTHENTICATED');
    } finally {
      client.close();
    }
  }
});

test('TLS fails with another CA, and mutual TLS without a client certificate', { skip: NO_SECURE }, async () => {
  for (const options of [{ caCert: OTHER_CA }, { clientCert: undefined, clientKey: undefined }]) {
    const client = secured({ timeoutMs: 5_000, ...options });
    try {
      assert.equal((await rejection(client.listModels())).codeName, 'UNAVAILABLE');
    } finally {
      client.close();
    }
  }
});

test('channelCredentials: plaintext unless asked, a client certificate needs its key', () => {
  assert.equal(channelCredentials({})._isSecure(), false);
  assert.equal(channelCredentials({ tls: true })._isSecure(), true);
  assert.throws(() => channelCredentials({ clientCert: 'client.pem' }), /clientKey/);
});

test('dns:/// target with round_robin reaches the server', { skip: NO_SERVER }, async () => {
  const client = new JobMatchClient(`dns:///${TARGET}`, { loadBalancing: 'round_robin', timeoutMs: 30_000 });
  try {
    assert.ok((await client.listModels()).length >= 1);
  } finally {
    client.close();
  }
});
