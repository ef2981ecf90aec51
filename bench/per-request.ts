/**
 * Per-request cost, all contenders side by side in interleaved rounds: in round r every contender
 * verifies the same batch of the pool, in an order rotated by r, so that machine drift (other
 * processes, thermal, GC of the others) falls on all of them alike.
 */
import type { Contender } from './contenders.js';
import { median, percentile } from './stats.js';

export interface PerRequestOptions {
  rounds: number;
  /** Calls per contender per round. */
  batch: number;
  /** Untimed calls per contender before the first round (JIT, key import, JWKS fetch). */
  warmup: number;
}

export interface ContenderResult {
  name: string;
  /** Median over rounds of the batch mean (batch wall time / calls), ns. */
  nsPerOp: number;
  opsPerSecond: number;
  /** From per-call process.hrtime samples over all rounds, ns. */
  p50Ns: number;
  p99Ns: number;
  ratioToFloor: number;
  /** JWKS requests the server saw while this contender ran (checks, warm-up and rounds). */
  jwksFetches: number;
  /** Bytes of log output per decision, for the rows that write through the drained pipe. */
  logBytesPerDecision: number | undefined;
  roundMeansNs: number[];
}

async function runBatch(contender: Contender, start: number, options: PerRequestOptions, poolSize: number, samples: Float64Array, offset: number): Promise<number> {
  const hrtime = process.hrtime.bigint;
  const began = hrtime();
  if (contender.sync) {
    for (let call = 0; call < options.batch; call += 1) {
      const before = hrtime();
      contender.call((start + call) % poolSize);
      samples[offset + call] = Number(hrtime() - before);
    }
  } else {
    for (let call = 0; call < options.batch; call += 1) {
      const before = hrtime();
      await contender.call((start + call) % poolSize);
      samples[offset + call] = Number(hrtime() - before);
    }
  }
  return Number(hrtime() - began) / options.batch;
}

export async function measurePerRequest(contenders: Contender[], poolSize: number, options: PerRequestOptions, jwksRequests: () => number): Promise<ContenderResult[]> {
  const fetches = new Map(contenders.map((contender) => [contender, 0]));
  const counted = async (contender: Contender, work: () => Promise<unknown>): Promise<void> => {
    const before = jwksRequests();
    await work();
    fetches.set(contender, fetches.get(contender)! + jwksRequests() - before);
  };

  for (const contender of contenders) {
    await counted(contender, () => contender.check());
    const scratch = new Float64Array(options.warmup);
    await counted(contender, () => runBatch(contender, 0, { ...options, batch: options.warmup }, poolSize, scratch, 0));
  }

  const samples = new Map(contenders.map((contender) => [contender, new Float64Array(options.rounds * options.batch)]));
  const roundMeans = new Map(contenders.map((contender): [Contender, number[]] => [contender, []]));
  for (let round = 0; round < options.rounds; round += 1) {
    const start = (round * options.batch) % poolSize;
    const order = contenders.map((_, index) => contenders[(index + round) % contenders.length]!);
    for (const contender of order) {
      await counted(contender, async () => {
        roundMeans.get(contender)!.push(await runBatch(contender, start, options, poolSize, samples.get(contender)!, round * options.batch));
      });
    }
  }

  const floorNs = median(roundMeans.get(contenders[0]!)!);
  return contenders.map((contender) => {
    const means = roundMeans.get(contender)!;
    const perCall = samples.get(contender)!;
    const nsPerOp = median(means);
    return {
      name: contender.name,
      nsPerOp,
      opsPerSecond: 1e9 / nsPerOp,
      p50Ns: percentile(perCall, 0.5),
      p99Ns: percentile(perCall, 0.99),
      ratioToFloor: nsPerOp / floorNs,
      jwksFetches: fetches.get(contender)!,
      logBytesPerDecision: contender.logBytesPerCall?.(),
      roundMeansNs: means,
    };
  });
}
