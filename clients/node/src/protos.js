// Loads the jobmatch.v1 .proto files at run time (no generated code) and the vendored
// google.rpc types used to decode rich error details.

import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import protobuf from 'protobufjs';

const PACKAGE_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** Vendored google/rpc/{status,error_details}.proto (copies from googleapis, Apache-2.0). */
const VENDORED_DIR = join(PACKAGE_DIR, 'proto');
const JOBMATCH_FILES = ['jobmatch/v1/embedding.proto', 'jobmatch/v1/match.proto'];

/**
 * Where jobmatch/v1/*.proto live: `protoDir` when given, else $JOBMATCH_PROTO_DIR, else the
 * repository's proto/ (../../proto, the source of truth in a checkout), else the copy `npm pack`
 * puts in this package (proto/jobmatch).
 * @param {string | undefined} protoDir
 * @returns {string}
 */
export function findProtoDir(protoDir) {
  const candidates = protoDir
    ? [protoDir]
    : [process.env.JOBMATCH_PROTO_DIR, join(PACKAGE_DIR, '..', '..', 'proto'), VENDORED_DIR];
  for (const dir of candidates) {
    if (dir && existsSync(join(dir, JOBMATCH_FILES[0]))) return resolve(dir);
  }
  throw new Error(
    `cannot find jobmatch/v1/embedding.proto in ${candidates.filter(Boolean).join(', ')}; ` +
      'pass protoDir or set JOBMATCH_PROTO_DIR to the repository proto/ folder',
  );
}

/** proto-loader conversion options: camelCase fields, enum names as strings, bytes as Buffer. */
export const LOADER_OPTIONS = Object.freeze({
  keepCase: false,
  longs: Number,
  enums: String,
  bytes: Buffer,
  defaults: true,
  oneofs: true,
});

/** @type {Map<string, any>} */
const servicesByDir = new Map();

/**
 * The service constructors of jobmatch.v1, loaded once per proto folder.
 * @param {string | undefined} protoDir
 * @returns {{ EmbeddingService: typeof grpc.Client, MatchService: typeof grpc.Client }}
 */
export function loadServices(protoDir) {
  const dir = findProtoDir(protoDir);
  let services = servicesByDir.get(dir);
  if (!services) {
    const definition = protoLoader.loadSync(JOBMATCH_FILES, { ...LOADER_OPTIONS, includeDirs: [dir] });
    const v1 = /** @type {any} */ (grpc.loadPackageDefinition(definition)).jobmatch.v1;
    services = { EmbeddingService: v1.EmbeddingService, MatchService: v1.MatchService };
    servicesByDir.set(dir, services);
  }
  return services;
}

/** @type {protobuf.Root | undefined} */
let rpcRoot;

/**
 * google.rpc.Status and the error detail messages (ErrorInfo, BadRequest, RetryInfo, ...).
 * google/protobuf/{any,duration}.proto come bundled with protobufjs.
 * @returns {protobuf.Root}
 */
export function rpcTypes() {
  if (rpcRoot === undefined) {
    const root = new protobuf.Root();
    root.resolvePath = (origin, target) =>
      target.startsWith('google/rpc/') ? join(VENDORED_DIR, target) : protobuf.util.path.resolve(origin, target);
    root.loadSync(['google/rpc/status.proto', 'google/rpc/error_details.proto'], { keepCase: false });
    root.resolveAll();
    rpcRoot = root;
  }
  return rpcRoot;
}
