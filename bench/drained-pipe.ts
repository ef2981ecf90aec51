/**
 * What Lambda does with a function's stdout: a pipe whose other end a separate process reads. The
 * decision line's real cost is a write(2) to such a pipe, not a file write or a dropped string. A
 * FIFO read by `cat` into /dev/null, opened blocking, as a Node process's stdout pipe is on Linux.
 */
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface DrainedPipe {
  /** Writes as process.stdout.write does for a pipe: synchronously. */
  write(chunk: string | Uint8Array): void;
  close(): void;
}

export function openDrainedPipe(): DrainedPipe {
  const dir = mkdtempSync(join(tmpdir(), 'bench-pipe-'));
  const fifo = join(dir, 'stdout');
  execFileSync('mkfifo', [fifo]);
  const reader = spawn('cat', [fifo], { stdio: ['ignore', 'ignore', 'inherit'] });
  // Blocks until `cat` opens its end: a loopback step of a few milliseconds, once.
  const fd = openSync(fifo, 'w');
  return {
    write: (chunk) => {
      if (typeof chunk === 'string') writeSync(fd, chunk);
      else writeSync(fd, chunk);
    },
    close: () => {
      closeSync(fd);
      reader.kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
