// esbuild's `binary` loader (custom.esbuild.loader in serverless.yml) turns these into bytes.
declare module '*.pbf' {
  const bytes: Uint8Array;
  export default bytes;
}
