/**
 * Imported by issuer.ts before oidc-provider, to drop the one warning oidc-provider prints when
 * it is loaded on Node 20: "Unsupported runtime. Use Node.js v22.x LTS, or a later LTS release."
 *
 * Why it is harmless here: oidc-provider 9 prints it for any Node.js release line older than 22
 * (its index.js compares `process.release.lts` with "Jod", Node 22's codename) and declares no
 * `engines` range that excludes Node 20. What it needs beyond Node 20's baseline is `URL.parse`
 * (in Node 20 since 20.18) and `crypto.hash` (since 20.12), both present from this project's floor,
 * Node 20.19; the end-to-end suite runs the issuer on Node 20. So the warning is dropped only
 * where those hold, and only that exact line (oidc-provider writes it with console.warn, in bold
 * red on a terminal); every other warning, oidc-provider's included, still shows. Anywhere else
 * (Node 22 prints nothing; an older Node 20 or a future check) it is left alone.
 */
import crypto from 'node:crypto';

const WARNING = 'oidc-provider WARNING: Unsupported runtime. Use Node.js v22.x LTS, or a later LTS release.';
/** The colour codes it wraps the line in on a terminal. */
const ANSI = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g');

const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
const harmless = major === 20 && minor >= 19 && typeof URL.parse === 'function' && typeof crypto.hash === 'function';

const original = console.warn;
if (harmless) {
  console.warn = (...args: unknown[]): void => {
    if (args.length === 1 && typeof args[0] === 'string' && args[0].replace(ANSI, '') === WARNING) return;
    original.apply(console, args);
  };
}

/** Puts console.warn back once oidc-provider is loaded (it warns only while its module is evaluated). */
export function restoreConsoleWarn(): void {
  console.warn = original;
}
