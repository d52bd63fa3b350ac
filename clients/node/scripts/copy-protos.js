// prepack: put a copy of the repository's proto/jobmatch into this package so that an installed
// package finds its .proto files; postpack (--remove) deletes the copy again.
import { cpSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const packageDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const copy = join(packageDir, 'proto', 'jobmatch');
rmSync(copy, { recursive: true, force: true });
if (!process.argv.includes('--remove')) {
  cpSync(join(packageDir, '..', '..', 'proto', 'jobmatch'), copy, { recursive: true });
}
