import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

// A full garbage collection on demand, so heap figures mean what is retained.
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

/**
 * How much the heap keeps after `measured` more calls than it kept after `warmUp` calls. The warm-up
 * fills every bounded cache and lets the JIT settle, so what remains is growth with the call count.
 */
export async function heapGrowthMb(call: (index: number) => Promise<unknown>, warmUp: number, measured: number): Promise<{ baseMb: number; grownMb: number }> {
  for (let index = 0; index < warmUp; index += 1) await call(index);
  collectGarbage();
  const before = process.memoryUsage().heapUsed;
  for (let index = warmUp; index < warmUp + measured; index += 1) await call(index);
  collectGarbage();
  return { baseMb: before / 1024 / 1024, grownMb: (process.memoryUsage().heapUsed - before) / 1024 / 1024 };
}
