/**
 * src/api/schema.d.ts is generated from workspace/server/openapi.yaml by
 * `jlpm gen:api`: regenerate it into a temporary file and compare, so a changed
 * OpenAPI document without a regenerated schema fails here (and in CI).
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const ROOT = path.resolve(__dirname, '..');

test('the committed src/api/schema.d.ts is what jlpm gen:api generates', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aw-schema-'));
  const out = path.join(dir, 'schema.d.ts');
  try {
    execFileSync(
      process.execPath,
      [
        path.join(ROOT, 'node_modules', 'openapi-typescript', 'bin', 'cli.js'),
        path.join(ROOT, '..', 'workspace', 'server', 'openapi.yaml'),
        '-o',
        out
      ],
      { cwd: ROOT, stdio: 'pipe' }
    );
    const committed = fs.readFileSync(path.join(ROOT, 'src', 'api', 'schema.d.ts'), 'utf8');
    const generated = fs.readFileSync(out, 'utf8');
    if (committed !== generated) {
      throw new Error(
        'src/api/schema.d.ts is out of date with workspace/server/openapi.yaml: ' +
          'run `jlpm gen:api` in extensions/ and commit the result.'
      );
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}, 60000);
