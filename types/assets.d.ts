// esbuild's `binary` loader (custom.esbuild.loader in serverless.yml) turns these into bytes.
declare module '*.pbf' {
  const bytes: Uint8Array;
  export default bytes;
}

// dynalite ships no types; the local stack uses only its server factory.
declare module 'dynalite' {
  import type { Server } from 'node:http';
  export default function dynalite(options?: { createTableMs?: number; deleteTableMs?: number; updateTableMs?: number; path?: string }): Server;
}
