/**
 * esbuild bundles, built the way serverless.yml builds the authorizer (bundled, minified, ESM,
 * node22, with the same createRequire banner so CommonJS dependencies can load node builtins),
 * one per contender entry, plus the child driver that runs them.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

export const BUNDLE_ENTRIES = {
  baseline: 'bench/peers/none.ts',
  ours: 'handlers/authorizer.ts',
  jose: 'bench/peers/jose.ts',
  awsJwtVerify: 'bench/peers/aws-jwt-verify.ts',
  jsonwebtoken: 'bench/peers/jsonwebtoken.ts',
} as const;

export type BundleName = keyof typeof BUNDLE_ENTRIES;

export interface Bundle {
  entry: string;
  file: string;
  bytes: number;
}

const BANNER = "import { createRequire } from 'module'; const require = createRequire(import.meta.url);";

async function bundle(entry: string, outfile: string, minify: boolean): Promise<Bundle> {
  await build({
    entryPoints: [join(ROOT, entry)], outfile, bundle: true, minify, platform: 'node', format: 'esm', target: 'node22',
    banner: { js: BANNER }, logLevel: 'error', legalComments: 'none',
    // As deployed (serverless.yml's esbuild exclude): the Lambda runtime ships the AWS SDK.
    external: ['@aws-sdk/*'],
  });
  return { entry, file: outfile, bytes: statSync(outfile).size };
}

export async function buildBundles(outdir: string): Promise<{ bundles: Record<BundleName, Bundle>; driver: string }> {
  const names = Object.keys(BUNDLE_ENTRIES) as BundleName[];
  const built = await Promise.all(names.map((name) => bundle(BUNDLE_ENTRIES[name], join(outdir, `${name}.mjs`), true)));
  const driver = await bundle('bench/child/driver.ts', join(outdir, 'driver.mjs'), false);
  return { bundles: Object.fromEntries(names.map((name, index) => [name, built[index]!])) as Record<BundleName, Bundle>, driver: driver.file };
}
