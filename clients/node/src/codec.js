// Conversions between the wrapper's arguments and jobmatch.v1 messages.

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * A Float32Array from ENCODING_PACKED_FLOAT32 bytes (little-endian float32, 4 * dimension long).
 *
 * The bytes are copied first: a Buffer from gRPC is usually a view at an arbitrary (unaligned)
 * offset into a larger pool, so `new Float32Array(buf.buffer)` would read the wrong memory or
 * throw. Note that `Buffer#slice` does NOT copy (it is `subarray`); `new Uint8Array(buf)` does.
 * @param {Uint8Array} bytes
 * @returns {Float32Array}
 */
export function decodePacked(bytes) {
  if (bytes.byteLength % 4 !== 0) {
    throw new RangeError(`packed float32 vector has ${bytes.byteLength} bytes, not a multiple of 4`);
  }
  if (LITTLE_ENDIAN_HOST) return new Float32Array(new Uint8Array(bytes).buffer);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(bytes.byteLength / 4);
  for (let i = 0; i < out.length; i += 1) out[i] = view.getFloat32(i * 4, true);
  return out;
}

/**
 * The vector of one jobmatch.v1.Embedding, whichever encoding it came in.
 * @param {{ packed?: Uint8Array, values?: number[] }} embedding
 * @returns {Float32Array}
 */
export function decodeEmbedding(embedding) {
  if (embedding.packed && embedding.packed.byteLength > 0) return decodePacked(embedding.packed);
  return Float32Array.from(embedding.values ?? []);
}

const SIDES = /** @type {const} */ ({
  anchor: 'SIDE_ANCHOR',
  positive: 'SIDE_POSITIVE',
  side_anchor: 'SIDE_ANCHOR',
  side_positive: 'SIDE_POSITIVE',
  side_unspecified: 'SIDE_UNSPECIFIED',
});
const SIDE_NUMBERS = ['SIDE_UNSPECIFIED', 'SIDE_ANCHOR', 'SIDE_POSITIVE'];

/**
 * 'anchor' / 'positive' (any case), 'SIDE_ANCHOR' / 'SIDE_POSITIVE', 1 / 2, or nothing.
 * Other numbers are sent as they are (the server answers INVALID_ARGUMENT).
 * @param {string | number | null | undefined} side
 * @returns {string | number}
 */
export function sideValue(side) {
  if (side === undefined || side === null) return 'SIDE_UNSPECIFIED';
  if (typeof side === 'number') return SIDE_NUMBERS[side] ?? side;
  const value = SIDES[/** @type {keyof typeof SIDES} */ (String(side).toLowerCase())];
  if (!value) throw new RangeError(`side must be 'anchor' or 'positive', got ${JSON.stringify(side)}`);
  return value;
}

/**
 * 'SIDE_ANCHOR' -> 'anchor'.
 * @param {string | number} side
 * @returns {string}
 */
export function sideName(side) {
  const name = typeof side === 'number' ? SIDE_NUMBERS[side] ?? String(side) : side;
  return name.replace(/^SIDE_/, '').toLowerCase();
}

const KINDS = /** @type {const} */ ({
  job_title: 'QUERY_KIND_JOB_TITLE',
  title: 'QUERY_KIND_JOB_TITLE',
  skills: 'QUERY_KIND_SKILLS',
  text: 'QUERY_KIND_TEXT',
});
const KIND_NUMBERS = ['QUERY_KIND_UNSPECIFIED', 'QUERY_KIND_JOB_TITLE', 'QUERY_KIND_SKILLS', 'QUERY_KIND_TEXT'];

/**
 * 'job_title' / 'skills' / 'text', a QUERY_KIND_* name or number, or nothing (job title).
 * @param {string | number | null | undefined} kind
 * @returns {string | number}
 */
export function queryKindValue(kind) {
  if (kind === undefined || kind === null) return 'QUERY_KIND_UNSPECIFIED';
  if (typeof kind === 'number') return KIND_NUMBERS[kind] ?? kind;
  const text = String(kind);
  if (KIND_NUMBERS.includes(text.toUpperCase())) return text.toUpperCase();
  const value = KINDS[/** @type {keyof typeof KINDS} */ (text.toLowerCase().replace(/-/g, '_'))];
  if (!value) throw new RangeError(`kind must be 'job_title', 'skills' or 'text', got ${JSON.stringify(kind)}`);
  return value;
}

/**
 * A jobmatch.v1.EmbedRequest (proto-loader object form) for `texts`.
 * @param {readonly string[]} texts
 * @param {{ side?: string | number | null, model?: string, normalize?: boolean, truncate?: boolean, dimensions?: number }} options
 */
export function embedRequest(texts, options) {
  /** @type {Record<string, unknown>} */
  const request = {
    model: options.model ?? '',
    side: sideValue(options.side),
    inputs: texts,
    truncate: Boolean(options.truncate),
    encoding: 'ENCODING_PACKED_FLOAT32',
    dimensions: options.dimensions ?? 0,
  };
  if (options.normalize !== undefined) request.normalize = Boolean(options.normalize); // optional: unset = true
  return request;
}

/**
 * @param {any} metadata
 */
export function metadataFrom(metadata) {
  return {
    promptTokens: metadata?.promptTokens ?? 0,
    tokenizationTimeNs: metadata?.tokenizationTimeNs ?? 0,
    queueTimeNs: metadata?.queueTimeNs ?? 0,
    inferenceTimeNs: metadata?.inferenceTimeNs ?? 0,
    totalTimeNs: metadata?.totalTimeNs ?? 0,
  };
}

/**
 * @param {any} response a jobmatch.v1.EmbedResponse
 */
export function embedResult(response) {
  return {
    model: response.model,
    dimension: response.dimension,
    vectors: response.embeddings.map(decodeEmbedding),
    metadata: metadataFrom(response.metadata),
  };
}

/**
 * A jobmatch.v1.MatchOccupationsRequest for `query` (proto-loader object form).
 * @param {string} query
 * @param {import('./index.js').MatchQueryOptions} options
 */
export function matchRequest(query, options) {
  /** @type {Record<string, unknown>} */
  const request = {
    query,
    kind: queryKindValue(options.kind),
    topK: options.topK ?? 0,
    language: options.language ?? '',
    iscoGroupPrefixes: options.iscoGroupPrefixes ?? [],
    includeDescriptions: options.includeDescriptions ?? false,
  };
  // Unset (undefined or null): the field stays absent and the server applies its default for the kind.
  if (options.minScore != null) request.minScore = options.minScore;
  return request;
}

/**
 * A MatchOccupationsResult from a jobmatch.v1.MatchOccupationsResponse: a match fits when it clears minScore;
 * none does under noFit (the server's verdict on the best one wins over a float32 tie); with no threshold
 * (0, also an older server's answer) all do.
 * @param {any} response
 * @returns {import('./index.js').MatchOccupationsResult}
 */
export function matchResult(response) {
  const minScore = response.minScore ?? 0;
  const noFit = response.noFit ?? false;
  return {
    matches: response.matches.map((/** @type {any} */ m) => ({
      uri: m.uri,
      preferredLabel: m.preferredLabel,
      iscoGroup: m.iscoGroup,
      score: m.score,
      skills: m.skills,
      code: m.code,
      description: m.description,
      fits: minScore <= 0 || (!noFit && m.score >= minScore),
    })),
    model: response.model,
    escoVersion: response.escoVersion,
    noFit,
    minScore,
  };
}

/**
 * A jobmatch.v1.ExtractSkillsRequest.
 * @param {string} text
 * @param {import('./index.js').ExtractSkillsOptions} options
 */
export function extractRequest(text, options) {
  /** @type {Record<string, unknown>} */
  const request = {
    text,
    topK: options.topK ?? 0,
    language: options.language ?? '',
    occupationUri: options.occupationUri ?? '',
  };
  if (options.minScore != null) request.minScore = options.minScore; // unset: the server's default
  return request;
}

/**
 * @param {any} skill a jobmatch.v1.ExtractedSkill
 * @returns {import('./index.js').ExtractedSkill}
 */
function extractedSkill(skill) {
  return {
    uri: skill.uri,
    label: skill.label,
    score: skill.score,
    skillType: skill.skillType,
    evidence: skill.evidence.map((/** @type {any} */ e) => ({ start: e.start, end: e.end, text: e.text })),
    relation: skill.relation,
  };
}

/**
 * A SkillExtraction from a jobmatch.v1.ExtractSkillsResponse; `gap` is null unless an occupation was named.
 * @param {any} response
 * @returns {import('./index.js').SkillExtraction}
 */
export function extractResult(response) {
  const gap = response.gap
    ? {
        occupationUri: response.gap.occupationUri,
        occupationLabel: response.gap.occupationLabel,
        shown: response.gap.shown.map(extractedSkill),
        missing: response.gap.missing.map((/** @type {any} */ s) => ({ uri: s.uri, label: s.label })),
        coverage: response.gap.coverage,
      }
    : null;
  return {
    skills: response.skills.map(extractedSkill),
    model: response.model,
    escoVersion: response.escoVersion,
    minScore: response.minScore ?? 0,
    gap,
  };
}
