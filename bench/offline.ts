/**
 * Serverless offline started by the benchmark itself, for the `--noAuth` run: the same spawn as
 * local/stack.ts (which only starts it with authorizers on), with extra flags.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

export interface OfflineOptions {
  apiPort: number;
  lambdaPort: number;
  stage: string;
  params: Record<string, string>;
  extraArgs: string[];
  startTimeoutMs: number;
}

export interface RunningOffline {
  restBaseUrl: string;
  stop(): Promise<void>;
}

function stopProcessGroup(child: ChildProcess, timeoutMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = (signal: NodeJS.Signals): void => {
      try {
        process.kill(-child.pid!, signal);
      } catch {
        // Already gone.
      }
    };
    const timer = setTimeout(() => kill('SIGKILL'), timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    kill('SIGTERM');
  });
}

export async function startOffline(options: OfflineOptions): Promise<RunningOffline> {
  const args = [
    join(ROOT, 'node_modules/serverless/bin/serverless.js'), 'offline', 'start',
    '--host', '127.0.0.1', '--httpPort', String(options.apiPort), '--lambdaPort', String(options.lambdaPort),
    '--stage', options.stage,
    ...Object.entries(options.params).flatMap(([key, value]) => ['--param', `${key}=${value}`]),
    ...options.extraArgs,
  ];
  // Its own process group, so that stopping it also stops everything it started.
  const child = spawn(process.execPath, args, {
    cwd: ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, SLS_TELEMETRY_DISABLED: '1', SLS_NOTIFICATIONS_MODE: 'off', FORCE_COLOR: '0' },
  });
  const stop = () => stopProcessGroup(child);
  try {
    await new Promise<void>((resolve, reject) => {
      let tail = '';
      const timer = setTimeout(() => reject(new Error(`serverless offline was not ready within ${options.startTimeoutMs} ms; its last output:\n${tail}`)), options.startTimeoutMs);
      const onData = (chunk: Buffer): void => {
        const text = chunk.toString();
        tail = (tail + text).slice(-4000);
        if (/Server ready:/.test(text)) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', onData);
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`serverless offline exited (${code ?? signal}) before it was ready; its last output:\n${tail}`));
      });
    });
  } catch (error) {
    await stop();
    throw error;
  }
  return { restBaseUrl: `http://127.0.0.1:${options.apiPort}/${options.stage}`, stop };
}
