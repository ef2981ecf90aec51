/**
 * esbuild bundles, built the way serverless.yml builds the authorizer (bundled, minified, ESM,
 * node22, with the same createRequire banner so CommonJS dependencies can load node builtins),
 * one per contender entry, plus the child driver that runs them.
 */
import { readdirSync, statSync } from 'node:fs';
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
  /** The entry and every chunk it imports statically: what a cold start loads. */
  bytes: number;
  /** Chunks only a dynamic import loads (features that are off by default), by file name. */
  lazy?: Record<string, number> | undefined;
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

/**
 * Ours as serverless.yml builds it, with splitting: the features it imports dynamically land in
 * chunks of their own, so the handler's size is the entry plus its static imports.
 */
async function splitBundle(entry: string, outdir: string): Promise<Bundle> {
  const { metafile } = await build({
    entryPoints: [join(ROOT, entry)], outdir, bundle: true, minify: true, splitting: true, platform: 'node', format: 'esm', target: 'node22',
    banner: { js: BANNER }, logLevel: 'error', legalComments: 'none', external: ['@aws-sdk/*'], metafile: true, outExtension: { '.js': '.mjs' },
  });
  const outputs = metafile.outputs;
  const main = Object.keys(outputs).find((path) => outputs[path]!.entryPoint !== undefined)!;
  const loaded = new Set<string>();
  const visit = (path: string): void => {
    if (loaded.has(path) || outputs[path] === undefined) return;
    loaded.add(path);
    for (const { path: imported, kind } of outputs[path]!.imports) if (kind === 'import-statement') visit(imported);
  };
  visit(main);
  const bytes = [...loaded].reduce((sum, path) => sum + outputs[path]!.bytes, 0);
  const lazy = Object.fromEntries(Object.keys(outputs).filter((path) => !loaded.has(path)).map((path) => [path.split('/').pop()!, outputs[path]!.bytes]));
  const file = join(outdir, readdirSync(outdir).find((name) => name.startsWith('authorizer'))!);
  return { entry, file, bytes, lazy };
}

export async function buildBundles(outdir: string): Promise<{ bundles: Record<BundleName, Bundle>; driver: string }> {
  const names = Object.keys(BUNDLE_ENTRIES) as BundleName[];
  const built = await Promise.all(names.map((name) => (name === 'ours' ? splitBundle(BUNDLE_ENTRIES[name], join(outdir, 'ours')) : bundle(BUNDLE_ENTRIES[name], join(outdir, `${name}.mjs`), true))));
  const driver = await bundle('bench/child/driver.ts', join(outdir, 'driver.mjs'), false);
  return { bundles: Object.fromEntries(names.map((name, index) => [name, built[index]!])) as Record<BundleName, Bundle>, driver: driver.file };
}
