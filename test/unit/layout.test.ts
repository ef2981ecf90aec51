/**
 * The rooms of lib/ and who may enter them. Imports cross rooms in one direction only:
 * handlers → authorizer → jwt → shared, samples → shared, and errors.ts imports nothing. The
 * authorizer's rooms take no runtime package (types from aws-lambda only): its bundle is its own.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { dirname, join, relative, resolve } from 'node:path';

const root = resolve(new URL('../..', import.meta.url).pathname);

type Room = 'errors' | 'shared' | 'jwt' | 'revocation' | 'introspection' | 'dpop' | 'authorizer' | 'samples' | 'authorizer-handler' | 'sample-handler';

/** Rooms each room may import from (its own is always allowed). */
const MAY_IMPORT: Record<Room, readonly Room[]> = {
  errors: [],
  shared: [],
  jwt: ['shared', 'errors'],
  revocation: ['shared', 'errors'],
  // Introspection reads an answer with the JWT claim rules and fetches as the JWKS does.
  introspection: ['jwt', 'shared', 'errors'],
  // DPoP proofs are JWSs: decoded and verified with the JWT room's primitives.
  dpop: ['jwt', 'shared', 'errors'],
  authorizer: ['jwt', 'revocation', 'introspection', 'dpop', 'shared', 'errors'],
  samples: ['shared'],
  'authorizer-handler': ['authorizer', 'jwt', 'revocation', 'introspection', 'dpop', 'shared', 'errors'],
  'sample-handler': ['samples', 'shared'],
};

/**
 * Packages a room may import: the authorizer's rooms only node builtins and (type-only) aws-lambda;
 * shared and revocation also the DynamoDB client and introspection the SSM and Secrets Manager clients, which the
 * Lambda runtime ships and the bundle leaves out (each loaded on first use).
 */
const AUTHORIZER_PACKAGES = /^(node:|aws-lambda$|#route-table$)/;
// The revocation writer (the CLI's, the local issuer's) writes with the client itself.
const DYNAMODB_PACKAGES = /^(node:|aws-lambda$|@aws-sdk\/client-dynamodb$)/;
const INTROSPECTION_PACKAGES = /^(node:|@aws-sdk\/client-(ssm|secrets-manager)$)/;
const AUTHORIZER_ROOMS: readonly Room[] = ['errors', 'shared', 'jwt', 'revocation', 'introspection', 'dpop', 'authorizer', 'authorizer-handler'];

function roomOf(file: string): Room | undefined {
  if (file === 'lib/errors.ts') return 'errors';
  if (file === 'handlers/authorizer.ts') return 'authorizer-handler';
  if (file.startsWith('handlers/')) return 'sample-handler';
  const top = file.split('/')[1];
  return top === 'shared' || top === 'jwt' || top === 'revocation' || top === 'introspection' || top === 'dpop' || top === 'authorizer' || top === 'samples' ? top : undefined;
}

interface SourceFile {
  /** Relative to the repository root, with "/". */
  path: string;
  text: string;
}

const SPECIFIER = /(?:^|\n)\s*(?:import|export)\b[^;'"]*?\bfrom\s*['"]([^'"]+)['"]|(?:^|\n)\s*import\s*['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)/g;

function specifiersOf(text: string): string[] {
  return [...text.matchAll(SPECIFIER)].map((match) => (match[1] ?? match[2] ?? match[3])!);
}

/** Every import that breaks the rules, as "file → specifier: why". */
function layoutViolations(files: readonly SourceFile[]): string[] {
  const violations: string[] = [];
  for (const { path, text } of files) {
    const room = roomOf(path);
    if (room === undefined) {
      violations.push(`${path}: in no room (lib/authorizer, lib/jwt, lib/revocation, lib/introspection, lib/dpop, lib/shared, lib/samples, lib/errors.ts or handlers/)`);
      continue;
    }
    for (const specifier of specifiersOf(text)) {
      if (!specifier.startsWith('.')) {
        if (AUTHORIZER_ROOMS.includes(room) && !(room === 'shared' || room === 'revocation' ? DYNAMODB_PACKAGES : room === 'introspection' ? INTROSPECTION_PACKAGES : AUTHORIZER_PACKAGES).test(specifier)) {
          violations.push(`${path} → ${specifier}: the authorizer takes no runtime package`);
        }
        continue;
      }
      const target = relative(root, resolve(root, dirname(path), specifier)).split('\\').join('/').replace(/\.js$/, '.ts');
      const targetRoom = roomOf(target);
      if (targetRoom === room) continue;
      if (targetRoom === undefined || !MAY_IMPORT[room].includes(targetRoom)) {
        violations.push(`${path} → ${specifier}: ${room} may not import ${targetRoom ?? target}`);
      }
    }
  }
  return violations;
}

function sources(folder: string): SourceFile[] {
  return readdirSync(join(root, folder), { recursive: true, encoding: 'utf8' })
    .filter((name) => name.endsWith('.ts'))
    .map((name) => {
      const path = `${folder}/${name.split('\\').join('/')}`;
      return { path, text: readFileSync(join(root, path), 'utf8') };
    });
}

describe('layout: imports cross rooms in one direction only', () => {
  it('lib/ and handlers/ follow the rules', () => {
    const files = [...sources('lib'), ...sources('handlers')];
    assert.ok(files.length > 20, `only ${files.length} source files found`);
    assert.deepEqual(layoutViolations(files), []);
  });

  it('errors.ts imports nothing at all', () => {
    assert.deepEqual(specifiersOf(readFileSync(join(root, 'lib/errors.ts'), 'utf8')), []);
  });

  it('catches the authorizer importing a sample, jwt importing the authorizer, and a sample importing jwt', () => {
    const found = layoutViolations([
      { path: 'lib/authorizer/access.ts', text: "import { parseApiEvent } from '../samples/api-event.js';" },
      { path: 'lib/jwt/claims.ts', text: "import type { Route } from '../authorizer/route-table.js';" },
      { path: 'lib/samples/calendar/api.ts', text: "import { decodeJwt } from '../../jwt/decode.js';" },
      { path: 'handlers/authorizer.ts', text: "const { Gazetteer } = await import('../lib/samples/geocoding/gazetteer.js');" },
      { path: 'lib/errors.ts', text: "export { LruCache } from './shared/lru-cache.js';" },
      { path: 'lib/shared/log.ts', text: "import { AuthError } from '../errors.js';" },
    ]);
    assert.equal(found.length, 6, found.join('\n'));
    assert.match(found[0]!, /authorizer may not import samples/);
    assert.match(found[1]!, /jwt may not import authorizer/);
    assert.match(found[2]!, /samples may not import jwt/);
    assert.match(found[3]!, /authorizer-handler may not import samples/);
    assert.match(found[4]!, /errors may not import shared/);
    assert.match(found[5]!, /shared may not import errors/);
  });

  it('catches a runtime package in the authorizer, and a file in no room', () => {
    const found = layoutViolations([
      { path: 'lib/jwt/decode.ts', text: "import { decodeJwt } from 'jose';" },
      { path: 'lib/authorizer/policy.ts', text: "import type { PolicyDocument } from 'aws-lambda';" },
      { path: 'lib/samples/calendar/store.ts', text: "import { DynamoDBClient } from '@aws-sdk/client-dynamodb';" },
      { path: 'lib/misc.ts', text: '' },
    ]);
    assert.deepEqual(found, [
      'lib/jwt/decode.ts → jose: the authorizer takes no runtime package',
      'lib/misc.ts: in no room (lib/authorizer, lib/jwt, lib/revocation, lib/introspection, lib/dpop, lib/shared, lib/samples, lib/errors.ts or handlers/)',
    ]);
  });
});
