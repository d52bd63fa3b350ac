// JobMatchClient: a small typed wrapper over the jobmatch.v1 services with @grpc/grpc-js.

import { readFileSync } from 'node:fs';

import * as grpc from '@grpc/grpc-js';

import { embedRequest, embedResult, extractRequest, extractResult, matchRequest, matchResult, sideName, sideValue } from './codec.js';
import { JobMatchError } from './errors.js';
import { loadServices } from './protos.js';

const RETRYABLE = ['UNAVAILABLE', 'RESOURCE_EXHAUSTED'];
const SERVICES = ['jobmatch.v1.EmbeddingService', 'jobmatch.v1.MatchService'];

/**
 * The channel's service config: load-balancing policy, and gRPC's own retry policy (exponential
 * backoff with jitter) for UNAVAILABLE and RESOURCE_EXHAUSTED, like the Python client.
 * @param {string} loadBalancing
 * @param {number} maxAttempts
 */
export function serviceConfig(loadBalancing, maxAttempts) {
  /** @type {Record<string, any>} */
  const config = { loadBalancingConfig: [{ [loadBalancing]: {} }] };
  if (maxAttempts > 1) {
    config.methodConfig = [
      {
        name: SERVICES.map((service) => ({ service })),
        retryPolicy: {
          maxAttempts: Math.min(maxAttempts, 5),
          initialBackoff: '0.05s',
          maxBackoff: '2s',
          backoffMultiplier: 2,
          retryableStatusCodes: RETRYABLE,
        },
      },
    ];
  }
  return config;
}

/**
 * PEM bytes from a Buffer as it is, or from a file path.
 * @param {string | Buffer | undefined} source
 * @returns {Buffer | null}
 */
function pem(source) {
  if (source === undefined || source === null) return null;
  return Buffer.isBuffer(source) ? source : readFileSync(source);
}

/**
 * Channel credentials from the security options: TLS when `tls` is set or a CA or client
 * certificate is given (a client certificate and key: mutual TLS), plaintext otherwise.
 * @param {import('./index.js').ClientOptions} options
 * @returns {grpc.ChannelCredentials}
 */
export function channelCredentials({ tls = false, caCert, clientCert, clientKey } = {}) {
  if ((clientCert === undefined) !== (clientKey === undefined)) {
    throw new TypeError('clientCert and clientKey go together (mutual TLS)');
  }
  if (!tls && caCert === undefined && clientCert === undefined) return grpc.credentials.createInsecure();
  return grpc.credentials.createSsl(pem(caCert), pem(clientKey), pem(clientCert));
}

/**
 * @param {number | null | undefined} ms
 * @returns {Date | undefined}
 */
function deadlineAfter(ms) {
  if (ms === null || ms === undefined || ms === Infinity) return undefined;
  if (!(ms >= 0)) throw new RangeError(`deadlineMs must be a number >= 0, got ${ms}`);
  return new Date(Date.now() + ms);
}

/**
 * Shift `inputs[k]` in an error's field by `offset` (the error came from a chunk of a longer list).
 * @param {JobMatchError} error
 * @param {number} offset
 */
function shiftInputField(error, offset) {
  if (offset === 0) return error;
  const shift = (/** @type {string | null} */ field) =>
    field?.replace(/^inputs\[(\d+)\]/, (_, index) => `inputs[${Number(index) + offset}]`) ?? null;
  error.field = shift(error.field);
  error.fieldViolations = error.fieldViolations.map((v) => ({ ...v, field: shift(v.field) ?? v.field }));
  return error;
}

/**
 * Resolves when `stream` drains, or ends in any way (never rejects: errors surface on the reader).
 * @param {import('node:stream').Duplex} stream
 * @returns {Promise<void>}
 */
function writable(stream) {
  return new Promise((resolve) => {
    const events = ['drain', 'status', 'error', 'close'];
    const done = () => {
      for (const event of events) stream.off(event, done);
      resolve();
    };
    for (const event of events) stream.on(event, done);
  });
}

/** @param {any} info a jobmatch.v1.ModelInfo */
function modelInfo(info) {
  return {
    name: info.name,
    source: info.source,
    dimension: info.dimension,
    asymmetric: info.asymmetric,
    sides: info.sides.map(sideName),
    maxInputTokens: info.maxInputTokens,
    device: info.device,
    dtype: info.dtype,
    isDefault: info.isDefault,
    backend: info.backend,
  };
}

export class JobMatchClient {
  /**
   * @param {string} [target] "host:port", "dns:///host:port", "unix:///path", ...
   * @param {import('./index.js').ClientOptions} [options]
   */
  constructor(target = '127.0.0.1:50051', options = {}) {
    const {
      timeoutMs = 30_000,
      loadBalancing = 'pick_first',
      maxAttempts = 4,
      chunkSize = 256,
      maxInFlight = 4,
      maxMessageBytes = 64 * 1024 * 1024,
      credentials = channelCredentials(options),
      apiKey,
      channelOptions = {},
      protoDir,
    } = options;
    this._apiKey = apiKey;
    this.target = target;
    this.timeoutMs = timeoutMs;
    this.chunkSize = chunkSize;
    this.maxInFlight = maxInFlight;
    const { EmbeddingService, MatchService } = loadServices(protoDir);
    /** @type {import('@grpc/grpc-js').ChannelOptions} */
    const channel = {
      'grpc.service_config': JSON.stringify(serviceConfig(loadBalancing, maxAttempts)),
      'grpc.max_receive_message_length': maxMessageBytes,
      'grpc.max_send_message_length': maxMessageBytes,
      ...(maxAttempts <= 1 ? { 'grpc.enable_retries': 0 } : {}),
      ...channelOptions,
    };
    /** @type {any} */
    this.embedding = new EmbeddingService(target, credentials, channel);
    /** @type {any} */
    this.match = new MatchService(target, credentials, { channelOverride: this.embedding.getChannel() });
  }

  /**
   * Metadata of every call: the API key, as the server reads it.
   * @returns {grpc.Metadata}
   */
  _metadata() {
    const metadata = new grpc.Metadata();
    if (this._apiKey) metadata.set('authorization', `Bearer ${this._apiKey}`);
    return metadata;
  }

  /** Close the channel; calls in flight fail with CANCELLED or UNAVAILABLE. */
  close() {
    this.embedding.close();
  }

  /**
   * Wait until the channel is connected (not until models are loaded: use the health service).
   * @param {number} [deadlineMs]
   * @returns {Promise<void>}
   */
  waitForReady(deadlineMs = this.timeoutMs) {
    return new Promise((resolve, reject) => {
      this.embedding.waitForReady(deadlineAfter(deadlineMs) ?? Infinity, (/** @type {Error | undefined} */ err) =>
        err ? reject(new JobMatchError(grpc.status.DEADLINE_EXCEEDED, err.message, { cause: err })) : resolve(),
      );
    });
  }

  /**
   * One unary call; rejects with a JobMatchError.
   * @param {any} stub
   * @param {string} method
   * @param {object} request
   * @param {{ deadlineMs?: number | null, signal?: AbortSignal }} options
   * @returns {Promise<any>}
   */
  _unary(stub, method, request, options) {
    const deadline = deadlineAfter(options.deadlineMs === undefined ? this.timeoutMs : options.deadlineMs);
    const { signal } = options;
    return new Promise((resolve, reject) => {
      if (signal?.aborted) {
        reject(new JobMatchError(grpc.status.CANCELLED, 'cancelled by the caller', { cause: signal.reason }));
        return;
      }
      const onAbort = () => call.cancel();
      const call = stub[method](request, this._metadata(), deadline ? { deadline } : {}, (/** @type {any} */ err, /** @type {any} */ response) => {
        signal?.removeEventListener('abort', onAbort);
        if (err) reject(JobMatchError.fromServiceError(err));
        else resolve(response);
      });
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /**
   * Vectors of `texts`, one Float32Array per text, in input order. Long lists go out in chunks of
   * `chunkSize`, at most `maxInFlight` at once, all under one deadline.
   * @param {readonly string[]} texts
   * @param {import('./index.js').EmbedOptions} [options]
   * @returns {Promise<Float32Array[]>}
   */
  async embed(texts, options = {}) {
    if (typeof texts === 'string' || !Array.isArray(texts)) {
      throw new TypeError('texts must be an array of strings, not one string');
    }
    sideValue(options.side); // a RangeError for an unknown side, before any call
    const deadlineMs = options.deadlineMs === undefined ? this.timeoutMs : options.deadlineMs;
    const deadline = deadlineAfter(deadlineMs);
    const controller = new AbortController();
    const onAbort = () => controller.abort(options.signal?.reason);
    options.signal?.addEventListener('abort', onAbort, { once: true });
    if (options.signal?.aborted) controller.abort(options.signal.reason);
    /** @type {number[]} */
    const starts = [];
    for (let start = 0; start < texts.length; start += this.chunkSize) starts.push(start);
    if (starts.length === 0) starts.push(0); // let the server answer an empty list with EMPTY_INPUT
    /** @type {Float32Array[][]} */
    const parts = new Array(starts.length);
    let next = 0;
    const worker = async () => {
      while (next < starts.length) {
        const index = next++;
        const start = starts[index];
        const chunk = texts.slice(start, start + this.chunkSize);
        const remainingMs = deadline ? Math.max(0, deadline.getTime() - Date.now()) : null;
        try {
          const response = await this._unary(this.embedding, 'Embed', embedRequest(chunk, options), {
            deadlineMs: remainingMs,
            signal: controller.signal,
          });
          parts[index] = embedResult(response).vectors;
        } catch (err) {
          controller.abort(); // cancel the other chunks: the call has failed
          throw err instanceof JobMatchError ? shiftInputField(err, start) : err;
        }
      }
    };
    try {
      const workers = Array.from({ length: Math.min(this.maxInFlight, starts.length) }, worker);
      const results = await Promise.allSettled(workers);
      const failures = results.filter((r) => r.status === 'rejected').map((r) => r.reason);
      // The first real failure, not the CANCELLED of the chunks this client cancelled itself.
      const failure = failures.find((e) => e?.code !== grpc.status.CANCELLED) ?? failures[0];
      if (failure) throw failure;
    } finally {
      options.signal?.removeEventListener('abort', onAbort);
    }
    return parts.flat();
  }

  /**
   * One Embed call (no chunking) with everything the response carries: the resolved model name,
   * the dimension, the vectors, and the cost metadata.
   * @param {readonly string[]} texts
   * @param {import('./index.js').EmbedOptions} [options]
   */
  async embedWithMetadata(texts, options = {}) {
    const response = await this._unary(this.embedding, 'Embed', embedRequest(texts, options), options);
    return embedResult(response);
  }

  /**
   * Bidirectional EmbedStream. Each item of `source` (a string, or `{ id?, text | inputs, side?,
   * model? }`) becomes one request; ids default to the item's index ("0", "1", ...). Results come in
   * request order with the request's id; a failed request yields `{ ok: false, error }` and the
   * stream goes on. The writer respects HTTP/2 flow control: when the server stops reading (its
   * window is full), writing pauses. Breaking out of the loop cancels the call.
   * @param {Iterable<import('./index.js').StreamItem> | AsyncIterable<import('./index.js').StreamItem>} source
   * @param {import('./index.js').EmbedStreamOptions} [options]
   * @returns {AsyncGenerator<import('./index.js').StreamResult, void, undefined>}
   */
  async *embedStream(source, options = {}) {
    if (typeof source === 'string') throw new TypeError('source must be an iterable of texts, not one string');
    const deadline = deadlineAfter(options.deadlineMs);
    const call = this.embedding.EmbedStream(this._metadata(), deadline ? { deadline } : {});
    let finished = false;
    /** @type {unknown} */
    let sourceError;
    const onAbort = () => call.cancel();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    call.on('status', () => {
      finished = true;
    });
    const pump = async () => {
      let index = 0;
      try {
        for await (const item of source) {
          if (finished) return;
          const entry = typeof item === 'string' ? { text: item } : item;
          const { id = String(index), text, inputs, ...overrides } = entry;
          const request = embedRequest(inputs ?? [text ?? ''], { ...options, ...overrides });
          index += 1;
          if (!call.write({ id, request })) await writable(call);
        }
        if (!finished) call.end();
      } catch (err) {
        sourceError = err;
        call.cancel();
      }
    };
    const pumping = pump();
    try {
      for await (const response of call) {
        if (response.result === 'error') {
          yield { id: response.id, ok: false, error: JobMatchError.fromStreamError(response.error) };
        } else {
          const result = embedResult(response.response);
          yield { id: response.id, ok: true, vector: result.vectors[0], ...result };
        }
      }
    } catch (err) {
      // The pump sets sourceError before it cancels the call: the CANCELLED seen here is its doing.
      if (sourceError !== undefined) throw sourceError;
      throw JobMatchError.fromServiceError(err);
    } finally {
      options.signal?.removeEventListener('abort', onAbort);
      if (!finished) call.cancel();
    }
    await pumping;
    if (sourceError !== undefined) throw sourceError;
  }

  /**
   * The models this server serves.
   * @param {import('./index.js').CallOptions} [options]
   */
  async listModels(options = {}) {
    const response = await this._unary(this.embedding, 'ListModels', {}, options);
    return response.models.map(modelInfo);
  }

  /**
   * The ESCO occupations closest to `query` (MatchService).
   * @param {string} query
   * @param {import('./index.js').MatchOccupationsOptions} [options]
   */
  async matchOccupations(query, options = {}) {
    const response = await this._unary(this.match, 'MatchOccupations', matchRequest(query, options), options);
    return matchResult(response);
  }

  /**
   * Many queries through MatchOccupationsBatch: `batchSize` queries per call (default 100), at most
   * `maxInFlight` calls at once, each call with its own deadline (`deadlineMs`, default the client's
   * timeoutMs). A string takes the call's options; an object carries its own. One result per query, in
   * query order: `{ ok: true, ...MatchOccupationsResult }`, or `{ ok: false, error }` with the error this
   * query alone would get from matchOccupations (the other queries are answered). A failure of a whole call
   * (server down, deadline, a batch over the server's limit) rejects, and the calls in flight are cancelled.
   * @param {ReadonlyArray<string | import('./index.js').MatchQuery>} queries
   * @param {import('./index.js').MatchOccupationsBatchOptions} [options]
   * @returns {Promise<import('./index.js').MatchOccupationsBatchResult[]>}
   */
  async matchOccupationsBatch(queries, options = {}) {
    if (typeof queries === 'string' || !Array.isArray(queries)) {
      throw new TypeError('queries must be an array of strings or query objects, not one string');
    }
    const batchSize = options.batchSize ?? 100;
    if (!(batchSize >= 1)) throw new RangeError(`batchSize must be at least 1, got ${batchSize}`);
    const items = queries.map((q) => (typeof q === 'string' ? { ...options, query: q } : q));
    const requests = items.map((item) => matchRequest(item.query, item)); // a RangeError for a bad kind, first
    const controller = new AbortController();
    const onAbort = () => controller.abort(options.signal?.reason);
    options.signal?.addEventListener('abort', onAbort, { once: true });
    if (options.signal?.aborted) controller.abort(options.signal.reason);
    /** @type {import('./index.js').MatchOccupationsBatchResult[]} */
    const results = new Array(items.length);
    let next = 0;
    const worker = async () => {
      while (next < items.length) {
        const start = next;
        next += batchSize;
        const chunk = { queries: requests.slice(start, start + batchSize) };
        try {
          const response = await this._unary(this.match, 'MatchOccupationsBatch', chunk, {
            deadlineMs: options.deadlineMs,
            signal: controller.signal,
          });
          response.results.forEach((/** @type {any} */ result, /** @type {number} */ i) => {
            const index = start + i;
            const query = items[index].query;
            results[index] =
              result.result === 'error'
                ? { index, query, ok: false, error: JobMatchError.fromStreamError(result.error) }
                : { index, query, ok: true, ...matchResult(result.response) };
          });
        } catch (err) {
          controller.abort(); // cancel the other calls: this one has failed
          throw err;
        }
      }
    };
    try {
      const calls = Math.ceil(items.length / batchSize);
      const settled = await Promise.allSettled(Array.from({ length: Math.min(this.maxInFlight, calls) }, worker));
      const failures = settled.filter((r) => r.status === 'rejected').map((r) => r.reason);
      // The first real failure, not the CANCELLED of the calls this client cancelled itself.
      const failure = failures.find((e) => e?.code !== grpc.status.CANCELLED) ?? failures[0];
      if (failure) throw failure;
    } finally {
      options.signal?.removeEventListener('abort', onAbort);
    }
    return results;
  }

  /**
   * The ESCO skills a text (a job ad, a CV) mentions, best first, each with the spans that show it; with
   * `occupationUri`, each skill's relation to that occupation and the skill gap (`gap`).
   * @param {string} text
   * @param {import('./index.js').ExtractSkillsOptions} [options]
   * @returns {Promise<import('./index.js').SkillExtraction>}
   */
  async extractSkills(text, options = {}) {
    const response = await this._unary(this.match, 'ExtractSkills', extractRequest(text, options), options);
    return extractResult(response);
  }

  /**
   * One ESCO occupation by concept URI (MatchService).
   * @param {string} uri
   * @param {import('./index.js').CallOptions & { language?: string }} [options]
   */
  async getOccupation(uri, options = {}) {
    const response = await this._unary(this.match, 'GetOccupation', { uri, language: options.language ?? '' }, options);
    return response.occupation;
  }

  /**
   * The ESCO skills most relevant to a job title (MatchService).
   * @param {string} query
   * @param {import('./index.js').CallOptions & { topK?: number }} [options]
   */
  async matchSkills(query, options = {}) {
    const response = await this._unary(this.match, 'MatchSkills', { query, topK: options.topK ?? 0 }, options);
    return { matches: response.matches, model: response.model };
  }
}
