// Types of @jobmatch/client (the implementation is plain ESM JavaScript in this folder).

import type { ChannelCredentials, ChannelOptions, Metadata } from '@grpc/grpc-js';

/** 'anchor' (job titles) or 'positive' (comma-separated skill lists); also SIDE_* names or numbers. */
export type Side = 'anchor' | 'positive' | 'SIDE_ANCHOR' | 'SIDE_POSITIVE' | 'SIDE_UNSPECIFIED' | 0 | 1 | 2;

/** What a MatchOccupations query is: a job title (default), a skill list, or free text. */
export type QueryKind =
  | 'job_title'
  | 'skills'
  | 'text'
  | 'QUERY_KIND_UNSPECIFIED'
  | 'QUERY_KIND_JOB_TITLE'
  | 'QUERY_KIND_SKILLS'
  | 'QUERY_KIND_TEXT'
  | 0
  | 1
  | 2
  | 3;

export interface ClientOptions {
  /** Default deadline of unary calls, in ms (default 30000; Infinity for none). */
  timeoutMs?: number;
  /** Channel load-balancing policy, e.g. 'round_robin' with a 'dns:///host:port' target. Default 'pick_first'. */
  loadBalancing?: 'pick_first' | 'round_robin';
  /** Attempts per call with gRPC retries on UNAVAILABLE and RESOURCE_EXHAUSTED (default 4, at most 5; 1 disables). */
  maxAttempts?: number;
  /** Inputs per Embed call when `embed` splits a long list (default 256). */
  chunkSize?: number;
  /** Embed calls of one `embed` in flight at once (default 4). */
  maxInFlight?: number;
  /** gRPC message size limit both ways (default 64 MiB). */
  maxMessageBytes?: number;
  /** API key sent with every call as `authorization: Bearer KEY` (the server's --api-key). */
  apiKey?: string;
  /** Connect with TLS, trusting the system's root certificates (implied by caCert or clientCert). */
  tls?: boolean;
  /** PEM CA certificate of the server (file path or Buffer): TLS. */
  caCert?: string | Buffer;
  /** PEM client certificate (file path or Buffer), with clientKey: mutual TLS. */
  clientCert?: string | Buffer;
  /** PEM private key of clientCert (file path or Buffer). */
  clientKey?: string | Buffer;
  /** Full control over the channel credentials; default: built from tls, caCert, clientCert and clientKey (else plaintext). */
  credentials?: ChannelCredentials;
  /** Extra @grpc/grpc-js channel options; they win over the ones this client sets. */
  channelOptions?: ChannelOptions;
  /** Folder holding jobmatch/v1/*.proto (default: $JOBMATCH_PROTO_DIR, the repository's proto/, or the packed copy). */
  protoDir?: string;
}

export interface CallOptions {
  /** Deadline from now in ms. Unary calls default to the client's timeoutMs; Infinity or null for none. */
  deadlineMs?: number | null;
  /** Aborting cancels the call (it fails with CANCELLED). */
  signal?: AbortSignal;
}

export interface EmbedOptions extends CallOptions {
  /** Required for asymmetric models (JobBERT-v3); symmetric models accept any. */
  side?: Side | null;
  /** Model name; '' or unset: the server's default model. */
  model?: string;
  /** L2-normalize (server default true). */
  normalize?: boolean;
  /** Cut inputs over the model's token limit instead of failing with INPUT_TOO_LONG. */
  truncate?: boolean;
  /** Matryoshka: keep the first `dimensions` components (0 = all). */
  dimensions?: number;
}

export interface EmbedStreamOptions extends EmbedOptions {
  /** Deadline of the whole stream in ms; streams have none by default. */
  deadlineMs?: number | null;
}

/** One EmbedStream request: a text, or an object with its own id, inputs and overrides. */
export type StreamItem =
  | string
  | {
      id?: string;
      text?: string;
      inputs?: string[];
      side?: Side | null;
      model?: string;
      normalize?: boolean;
      truncate?: boolean;
      dimensions?: number;
    };

export interface EmbedMetadata {
  promptTokens: number;
  tokenizationTimeNs: number;
  queueTimeNs: number;
  inferenceTimeNs: number;
  totalTimeNs: number;
}

export interface EmbedResult {
  /** The model that served the call (resolved when the request named none). */
  model: string;
  dimension: number;
  vectors: Float32Array[];
  metadata: EmbedMetadata;
}

export type StreamResult =
  | (EmbedResult & { id: string; ok: true; /** vectors[0] */ vector: Float32Array })
  | { id: string; ok: false; error: JobMatchError };

export interface ModelInfo {
  name: string;
  source: string;
  dimension: number;
  asymmetric: boolean;
  sides: Array<'anchor' | 'positive'>;
  maxInputTokens: number;
  device: string;
  dtype: string;
  isDefault: boolean;
  /** What runs the transformer: "onnx" (ONNX Runtime) or "torch". */
  backend: string;
}

/** The options of one MatchOccupations query (also each query of a batch). */
export interface MatchQueryOptions {
  kind?: QueryKind;
  /** 1 to 100; 0 or unset: 10. */
  topK?: number;
  /** ISO 639-1 code of the labels to search and return. */
  language?: string;
  /** Keep occupations whose ISCO group starts with one of these digit strings. */
  iscoGroupPrefixes?: string[];
  /** Fill each match's `description` (in its label's language). */
  includeDescriptions?: boolean;
  /**
   * The score below which no occupation fits the query (see `MatchOccupationsResult.noFit`); the matches
   * come back either way. Unset: the server's default for `kind`; 0 or negative: no threshold; NaN is
   * INVALID_ARGUMENT (field `min_score`).
   */
  minScore?: number;
}

export interface MatchOccupationsOptions extends MatchQueryOptions, CallOptions {}

/** One query of `matchOccupationsBatch` with its own options (a plain string takes the call's). */
export interface MatchQuery extends MatchQueryOptions {
  query: string;
}

export interface MatchOccupationsBatchOptions extends MatchOccupationsOptions {
  /** Queries per MatchOccupationsBatch call (default 100; the server takes at most its --max-batch-queries). */
  batchSize?: number;
  /** Deadline of each call (not of the whole list) in ms; default the client's timeoutMs. */
  deadlineMs?: number | null;
}

/** The answer to one query of a batch, in query order: its matches, or the error it alone would get. */
export type MatchOccupationsBatchResult =
  | (MatchOccupationsResult & { index: number; query: string; ok: true })
  | { index: number; query: string; ok: false; error: JobMatchError };

export interface ExtractSkillsOptions extends CallOptions {
  /** 1 to 100; 0 or unset: the server's default (20). */
  topK?: number;
  /** The score below which a skill is not said to be in the text; unset: the server's default; 0 or negative: none. */
  minScore?: number;
  /** ISO 639-1 code of the text; unset: detected by the server. */
  language?: string;
  /** An ESCO occupation URI: each skill's `relation` to it is set and the result carries the skill gap (NOT_FOUND when unknown). */
  occupationUri?: string;
}

/** Where a text mentions a skill: `text.slice(start, end)` in code points (Python string indexing), end exclusive. */
export interface Evidence {
  start: number;
  end: number;
  text: string;
}

export interface ExtractedSkill {
  uri: string;
  label: string;
  /** Similarity of the skill to its best evidence, higher is closer. */
  score: number;
  /** "skill/competence", "knowledge" or "". */
  skillType: string;
  /** The spans that mention the skill, best first. */
  evidence: Evidence[];
  /** "essential" or "optional" for the occupation asked about; "" when unrelated or none was named. */
  relation: string;
}

export interface SkillGap {
  occupationUri: string;
  occupationLabel: string;
  /** Essential skills the text shows, best first, with evidence. */
  shown: ExtractedSkill[];
  /** Essential skills the text does not show, in ESCO's order. */
  missing: SkillRef[];
  /** shown / essential skills; 0 when the occupation lists none. */
  coverage: number;
}

export interface SkillExtraction {
  /** Best first, at most topK, none below minScore. */
  skills: ExtractedSkill[];
  model: string;
  escoVersion: string;
  /** The threshold applied; 0: none. */
  minScore: number;
  /** Set when `occupationUri` was given. */
  gap: SkillGap | null;
}

export interface OccupationMatch {
  uri: string;
  preferredLabel: string;
  iscoGroup: string;
  /** The engine's fused similarity of the query and the occupation, higher is closer (docs/api.md). */
  score: number;
  skills: string[];
  code: string;
  /** ESCO description; empty unless `includeDescriptions` was set. */
  description: string;
  /**
   * True when `score` clears the result's `minScore`, and always when there is none (0): a match that
   * does not fit is a nearest guess, not an answer.
   */
  fits: boolean;
}

export interface MatchOccupationsResult {
  /** Best first; returned whether or not they fit. */
  matches: OccupationMatch[];
  model: string;
  escoVersion: string;
  /** True when the best match scores below `minScore` (or nothing matched): no occupation fits the query well. */
  noFit: boolean;
  /** The threshold applied: the call's `minScore`, else the server's default for the kind; 0: none. */
  minScore: number;
}

export interface SkillRef {
  uri: string;
  label: string;
}

export interface Occupation {
  uri: string;
  code: string;
  iscoGroup: string;
  preferredLabel: string;
  altLabels: string[];
  description: string;
  essentialSkills: SkillRef[];
  optionalSkills: SkillRef[];
  preferredLabels: Record<string, string>;
  escoVersion: string;
}

export interface SkillMatch {
  uri: string;
  label: string;
  score: number;
  skillType: string;
}

export declare class JobMatchClient {
  constructor(target?: string, options?: ClientOptions);
  readonly target: string;
  timeoutMs: number;
  chunkSize: number;
  maxInFlight: number;
  close(): void;
  waitForReady(deadlineMs?: number): Promise<void>;
  /** One Float32Array per text, in input order. */
  embed(texts: readonly string[], options?: EmbedOptions): Promise<Float32Array[]>;
  embedWithMetadata(texts: readonly string[], options?: EmbedOptions): Promise<EmbedResult>;
  embedStream(
    source: Iterable<StreamItem> | AsyncIterable<StreamItem>,
    options?: EmbedStreamOptions,
  ): AsyncGenerator<StreamResult, void, undefined>;
  listModels(options?: CallOptions): Promise<ModelInfo[]>;
  matchOccupations(query: string, options?: MatchOccupationsOptions): Promise<MatchOccupationsResult>;
  matchOccupationsBatch(
    queries: ReadonlyArray<string | MatchQuery>,
    options?: MatchOccupationsBatchOptions,
  ): Promise<MatchOccupationsBatchResult[]>;
  extractSkills(text: string, options?: ExtractSkillsOptions): Promise<SkillExtraction>;
  getOccupation(uri: string, options?: CallOptions & { language?: string }): Promise<Occupation>;
  matchSkills(
    query: string,
    options?: CallOptions & { topK?: number },
  ): Promise<{ matches: SkillMatch[]; model: string }>;
}

export interface FieldViolation {
  field: string;
  description: string;
}

/** A decoded google.rpc detail: `type` is the message name, e.g. 'google.rpc.ErrorInfo'. */
export type StatusDetail = { type: string } & Record<string, any>;

/** A failed call. */
export declare class JobMatchError extends Error {
  constructor(
    code: number,
    details: string,
    extra?: {
      reason?: string;
      domain?: string;
      field?: string | null;
      fieldViolations?: FieldViolation[];
      retryDelayMs?: number | null;
      statusDetails?: StatusDetail[];
      metadata?: Metadata | null;
      cause?: unknown;
    },
  );
  /** gRPC status code: 3 INVALID_ARGUMENT, 4 DEADLINE_EXCEEDED, 5 NOT_FOUND, 8 RESOURCE_EXHAUSTED, 14 UNAVAILABLE, ... */
  code: number;
  /** 'INVALID_ARGUMENT', ... */
  codeName: string;
  /** The status message. */
  details: string;
  /** ErrorInfo.reason: 'MISSING_SIDE', 'INPUT_TOO_LONG', 'UNKNOWN_MODEL', 'QUEUE_FULL', ...; '' when the server sent none. */
  reason: string;
  /** ErrorInfo.domain: 'jobmatch.v1'. */
  domain: string;
  /** The first BadRequest field violation: 'side', 'model', 'inputs', 'inputs[3]', 'dimensions', 'encoding'. */
  field: string | null;
  fieldViolations: FieldViolation[];
  /** RetryInfo: how long to wait before retrying; null when retrying cannot help. */
  retryDelayMs: number | null;
  /** Every decoded detail of google.rpc.Status. */
  statusDetails: StatusDetail[];
  /** Trailing metadata of the failed call (null for stream errors). */
  metadata: Metadata | null;
  readonly retryable: boolean;
  static fromServiceError(err: unknown): JobMatchError;
  static fromStreamError(error: { code: number; message: string; reason: string; retryDelayMs: number; field?: string }): JobMatchError;
}

/** gRPC status codes by name (Code.INVALID_ARGUMENT === 3). */
export declare const Code: Readonly<{
  OK: 0;
  CANCELLED: 1;
  UNKNOWN: 2;
  INVALID_ARGUMENT: 3;
  DEADLINE_EXCEEDED: 4;
  NOT_FOUND: 5;
  ALREADY_EXISTS: 6;
  PERMISSION_DENIED: 7;
  RESOURCE_EXHAUSTED: 8;
  FAILED_PRECONDITION: 9;
  ABORTED: 10;
  OUT_OF_RANGE: 11;
  UNIMPLEMENTED: 12;
  INTERNAL: 13;
  UNAVAILABLE: 14;
  DATA_LOSS: 15;
  UNAUTHENTICATED: 16;
}> &
  Readonly<Record<string, number>>;

export declare function codeName(code: number): string;

/** Decode google.rpc.Status bytes (the grpc-status-details-bin trailer). */
export declare function decodeStatus(bytes: Uint8Array): { code: number; message: string; details: StatusDetail[] };

/** ENCODING_PACKED_FLOAT32 bytes to a Float32Array (copies: input may be unaligned). */
export declare function decodePacked(bytes: Uint8Array): Float32Array;
export declare function decodeEmbedding(embedding: { packed?: Uint8Array; values?: number[] }): Float32Array;

export declare function serviceConfig(loadBalancing: string, maxAttempts: number): Record<string, unknown>;
export declare function channelCredentials(options?: Pick<ClientOptions, "tls" | "caCert" | "clientCert" | "clientKey">): ChannelCredentials;
