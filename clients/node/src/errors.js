// JobMatchError: a failed call with its gRPC status and the server's rich error details
// (google.rpc.Status in the `grpc-status-details-bin` trailer: ErrorInfo, BadRequest, RetryInfo).

import { status as Status } from '@grpc/grpc-js';
import protobuf from 'protobufjs';

import { rpcTypes } from './protos.js';

const STATUS_DETAILS_KEY = 'grpc-status-details-bin';
const TYPE_URL_PREFIX = 'type.googleapis.com/';

/** Status code numbers by name, and names by number. */
export const Code = Object.freeze({ ...Status });
const CODE_NAMES = Object.fromEntries(
  Object.entries(Status)
    .filter(([, value]) => typeof value === 'number')
    .map(([name, value]) => [value, name]),
);

/**
 * The name of a status code ("INVALID_ARGUMENT" for 3).
 * @param {number} code
 * @returns {string}
 */
export function codeName(code) {
  return CODE_NAMES[code] ?? `CODE_${code}`;
}

/**
 * @param {{ seconds?: number | string | { toNumber(): number }, nanos?: number } | null | undefined} duration
 * @returns {number}
 */
function durationMs(duration) {
  if (!duration) return 0;
  const seconds = Number(duration.seconds ?? 0);
  return Math.round(seconds * 1000 + (duration.nanos ?? 0) / 1e6);
}

/**
 * Decode a google.rpc.Status (the bytes of `grpc-status-details-bin`). Each detail becomes a plain
 * object with its type name in `type` ("google.rpc.ErrorInfo", ...); unknown types keep `value`.
 * @param {Uint8Array} bytes
 * @returns {{ code: number, message: string, details: Array<Record<string, any> & { type: string }> }}
 */
export function decodeStatus(bytes) {
  const root = rpcTypes();
  const status = /** @type {any} */ (root.lookupType('google.rpc.Status').decode(bytes));
  const details = (status.details ?? []).map((/** @type {any} */ any) => {
    const typeUrl = String(any.typeUrl ?? any.type_url ?? '');
    const type = typeUrl.startsWith(TYPE_URL_PREFIX) ? typeUrl.slice(TYPE_URL_PREFIX.length) : typeUrl;
    const messageType = root.lookup(type);
    if (!(messageType instanceof protobuf.Type)) return { type, value: any.value };
    const message = messageType.toObject(messageType.decode(any.value), { longs: Number, defaults: true });
    return { type, ...message };
  });
  return { code: status.code ?? 0, message: status.message ?? '', details };
}

/** A jobmatch call failed: status code, message, and the server's machine-readable details. */
export class JobMatchError extends Error {
  /**
   * @param {number} code gRPC status code (3 INVALID_ARGUMENT, 5 NOT_FOUND, ...)
   * @param {string} details the status message
   * @param {object} [extra]
   * @param {string} [extra.reason] ErrorInfo.reason ("MISSING_SIDE", "INPUT_TOO_LONG", ...), "" when absent
   * @param {string} [extra.domain] ErrorInfo.domain ("jobmatch.v1")
   * @param {string | null} [extra.field] the first BadRequest field violation ("side", "inputs[3]")
   * @param {Array<{ field: string, description: string }>} [extra.fieldViolations]
   * @param {number | null} [extra.retryDelayMs] RetryInfo.retry_delay in ms: set when retrying may succeed
   * @param {Array<Record<string, any> & { type: string }>} [extra.statusDetails] every decoded detail
   * @param {import('@grpc/grpc-js').Metadata | null} [extra.metadata] trailing metadata
   * @param {unknown} [extra.cause]
   */
  constructor(code, details, extra = {}) {
    super(`${codeName(code)}: ${details}`, extra.cause === undefined ? undefined : { cause: extra.cause });
    this.name = 'JobMatchError';
    this.code = code;
    this.codeName = codeName(code);
    this.details = details;
    this.reason = extra.reason ?? '';
    this.domain = extra.domain ?? '';
    this.field = extra.field ?? null;
    this.fieldViolations = extra.fieldViolations ?? [];
    this.retryDelayMs = extra.retryDelayMs ?? null;
    this.statusDetails = extra.statusDetails ?? [];
    this.metadata = extra.metadata ?? null;
  }

  /** True when the same call may succeed later (the server sent RetryInfo). */
  get retryable() {
    return this.retryDelayMs !== null;
  }

  /**
   * From a @grpc/grpc-js ServiceError (or anything with code/details/metadata).
   * @param {any} err
   * @returns {JobMatchError}
   */
  static fromServiceError(err) {
    if (err instanceof JobMatchError) return err;
    const code = typeof err?.code === 'number' ? err.code : Status.UNKNOWN;
    const message = typeof err?.details === 'string' ? err.details : String(err?.message ?? err);
    const metadata = err?.metadata ?? null;
    /** @type {ReturnType<typeof decodeStatus>['details']} */
    let statusDetails = [];
    const raw = metadata?.get?.(STATUS_DETAILS_KEY)?.[0];
    if (raw) {
      try {
        statusDetails = decodeStatus(typeof raw === 'string' ? Buffer.from(raw, 'base64') : raw).details;
      } catch {
        statusDetails = []; // undecodable details: keep code and message
      }
    }
    const info = statusDetails.find((d) => d.type === 'google.rpc.ErrorInfo');
    const badRequest = statusDetails.find((d) => d.type === 'google.rpc.BadRequest');
    const retry = statusDetails.find((d) => d.type === 'google.rpc.RetryInfo');
    /** @type {Array<{ field: string, description: string }>} */
    const violations = (badRequest?.fieldViolations ?? []).map((/** @type {any} */ v) => ({
      field: v.field,
      description: v.description,
    }));
    return new JobMatchError(code, message, {
      reason: info?.reason ?? '',
      domain: info?.domain ?? '',
      field: violations[0]?.field ?? null,
      fieldViolations: violations,
      retryDelayMs: retry ? durationMs(retry.retryDelay) : null,
      statusDetails,
      metadata,
      cause: err,
    });
  }

  /**
   * From a jobmatch.v1.StreamError (one failed request of EmbedStream; the stream goes on).
   * @param {{ code: number, message: string, reason: string, retryDelayMs: number, field?: string }} error
   * @returns {JobMatchError}
   */
  static fromStreamError(error) {
    return new JobMatchError(error.code, error.message, {
      reason: error.reason,
      domain: 'jobmatch.v1',
      field: error.field ? error.field : null,
      retryDelayMs: error.retryDelayMs ? error.retryDelayMs : null,
    });
  }
}
