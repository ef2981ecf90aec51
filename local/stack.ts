/**
 * The whole stack on this machine: the issuer, DynamoDB (dynalite) and serverless offline running
 * the authorizer (JWTs, opaque tokens by introspection at the issuer, DPoP-bound tokens with
 * their proofs) and both sample APIs. `npm start` and the end-to-end tests both use it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startDynamoDb } from './dynamodb.js';
import { CLIENTS } from './clients.js';
import { startIssuer } from './issuer.js';
import { createDpopReplayTable, createRevocationsTable } from './revocations.js';
import { RevocationWriter } from '../lib/revocation/revocation-writer.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

export interface StackOptions {
  issuerPort: number;
  apiPort: number;
  lambdaPort: number;
  dynamodbPort: number;
  /** Folder for the issuer's signing key (git-ignored). */
  dataDir: string;
  /**
   * Serverless stage; REST routes are served under /<stage>. A stage may have a route table of its
   * own (serverless.yml params): `dpop` is the one whose calendar API requires DPoP.
   */
  stage: string;
  /** How long serverless offline may take to be ready. */
  startTimeoutMs: number;
  /** Where serverless offline's output goes (its lines also tell when it is ready). */
  onOutput?: (line: string) => void;
  /** Aborting stops a start in progress (Ctrl-C during `npm start`): what was started is stopped, and the start rejects. */
  signal?: AbortSignal;
  /** More serverless.yml params, over the stack's own (e.g. `dpopReplayContainerOnly`). */
  params?: Record<string, string>;
}

export interface RunningStack {
  issuer: string;
  issuerUrl: string;
  apiUrl: string;
  restBaseUrl: string;
  dynamodbEndpoint: string;
  tableName: string;
  /** The revocations table on that DynamoDB (README, Revocation). */
  revocationsTable: string;
  /** The DPoP replay table on that DynamoDB (README, DPoP). */
  dpopReplayTable: string;
  /** The serverless offline process (which runs the Lambdas in process), for resource checks. */
  offlinePid: number;
  stop(): Promise<void>;
}

/** Defaults, each overridable by an environment variable (documented in the README). */
export function stackOptionsFromEnv(env: NodeJS.ProcessEnv): StackOptions {
  const port = (name: string, fallback: number): number => {
    const value = env[name];
    if (value === undefined || value === '') return fallback;
    const parsed = Number(value);
    if (!Number.isInteger(parsed) || parsed < 0 || parsed > 65535) throw new Error(`${name}: "${value}" is not a port number (0 to 65535)`);
    return parsed;
  };
  return {
    issuerPort: port('LOCAL_ISSUER_PORT', 4000),
    apiPort: port('LOCAL_API_PORT', 3000),
    lambdaPort: port('LOCAL_LAMBDA_PORT', 3002),
    dynamodbPort: port('LOCAL_DYNAMODB_PORT', 8000),
    dataDir: env['LOCAL_DATA_DIR'] || join(ROOT, '.local'),
    stage: env['LOCAL_STAGE'] || 'dev',
    startTimeoutMs: 120_000,
  };
}

export { freePort } from './ports.js';

// The colour codes of a terminal, should serverless offline send any despite FORCE_COLOR=0.
const ANSI = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g');

/**
 * What `npm start` shows of serverless offline's output unless LOCAL_VERBOSE=1: one line per
 * decision, plus warnings and errors. A decision's line is the authorizer's `decision` log line,
 * or, for a request with no Authorization header (the authorizer is not called then), serverless
 * offline's "Identity Source is null". Dropped: the block serverless offline prints whenever the
 * authorizer throws `Unauthorized` ("Unhandled exception in handler 'authorizer'", "Error:
 * Unauthorized", its stack, "Authorization function returned an error response"), which is how
 * the REST API's expected 401 works, and whose decision line the handler always writes before it
 * throws (to stdout, while this block goes to stderr: either may come first). Any other error the
 * authorizer throws (such as an outage's) is shown. A Node.js process warning, which every new
 * Lambda instance prints again (the AWS SDK's NodeVersionSupportWarning on Node 20), shows once,
 * by its first line. Feed it every line, in order; it answers the lines to show (a line may be
 * held until the next one tells what it is).
 */
export function offlineOutputFilter(): (line: string) => string[] {
  let held: string | undefined;
  let inUnauthorizedBlock = false;
  const warned = new Set<string>();
  const shown = (line: string): string[] =>
    (/"message":"decision"|Identity Source is null|error|warn|exception/i.test(line) ? [line] : []);
  const next = (raw: string): string[] => {
    const line = raw.replace(ANSI, '');
    if (held !== undefined) {
      const header = held;
      held = undefined;
      if (/^\W*Error: Unauthorized\s*$/.test(line)) {
        inUnauthorizedBlock = true;
        return [];
      }
      return [header, ...next(raw)];
    }
    if (inUnauthorizedBlock) {
      if (/^\s*at\s/.test(line)) return [];
      inUnauthorizedBlock = false;
      if (/Authorization function returned an error response/.test(line)) return [];
    }
    if (/Unhandled exception in handler 'authorizer'/.test(line)) {
      held = raw;
      return [];
    }
    const warning = /^\(node:\d+\) (?:\[\w+\] )?(\w*Warning): (\S*)/.exec(line);
    if (warning !== null) {
      const key = `${warning[1]} ${warning[2]}`;
      if (warned.has(key)) return [];
      warned.add(key);
      return [raw];
    }
    if (/^\(Use `node --trace-warnings/.test(line)) return [];
    return shown(raw);
  };
  return next;
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

export interface OfflineOptions extends Pick<StackOptions, 'apiPort' | 'lambdaPort' | 'stage' | 'startTimeoutMs' | 'onOutput' | 'signal'> {
  /** serverless.yml params (`--param key=value`). */
  params: Record<string, string>;
  /** More command-line flags, e.g. `--noAuth` for the benchmark's run without authorizers. */
  extraArgs?: string[];
}

export interface RunningOffline {
  /** The REST API's base URL, stage included. */
  restBaseUrl: string;
  pid: number;
  stop(): Promise<void>;
}

/** Serverless offline on 127.0.0.1, resolved once it says it is ready; stopped (with all it started) on failure. */
export async function startOffline(options: OfflineOptions): Promise<RunningOffline> {
  const args = [
    join(ROOT, 'node_modules/serverless/bin/serverless.js'), 'offline', 'start',
    '--host', '127.0.0.1', '--httpPort', String(options.apiPort), '--lambdaPort', String(options.lambdaPort),
    '--stage', options.stage,
    ...Object.entries(options.params).flatMap(([key, value]) => ['--param', `${key}=${value}`]),
    ...(options.extraArgs ?? []),
  ];
  // Its own process group, so that stopping it also stops everything it started.
  const child = spawn(process.execPath, args, {
    cwd: ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, SLS_TELEMETRY_DISABLED: '1', SLS_NOTIFICATIONS_MODE: 'off', FORCE_COLOR: '0' },
  });
  const stop = () => stopProcessGroup(child);
  const ready = new Promise<void>((resolve, reject) => {
    let tail = '';
    const timer = setTimeout(() => reject(new Error(`serverless offline was not ready within ${options.startTimeoutMs} ms; its last output:\n${tail}`)), options.startTimeoutMs);
    // Its own process group outlives this process: on abort, it is stopped below, not left behind.
    const aborted = (): void => {
      clearTimeout(timer);
      reject(new Error('the start was aborted'));
    };
    if (options.signal?.aborted === true) aborted();
    options.signal?.addEventListener('abort', aborted, { once: true });
    child.once('exit', () => options.signal?.removeEventListener('abort', aborted));
    const onLine = (line: string): void => {
      tail = `${tail}${line}\n`.slice(-4000);
      if (line.trim() !== '') options.onOutput?.(line);
      if (/Server ready:/.test(line)) {
        clearTimeout(timer);
        resolve();
      }
    };
    // Whole lines only: a chunk may end in the middle of one.
    const lines = (stream: NodeJS.ReadableStream): void => {
      let partial = '';
      stream.on('data', (chunk: Buffer) => {
        const parts = `${partial}${chunk.toString()}`.split('\n');
        partial = parts.pop() ?? '';
        for (const line of parts) onLine(line.replace(/\r$/, ''));
      });
      stream.on('end', () => {
        if (partial !== '') onLine(partial);
        partial = '';
      });
    };
    lines(child.stdout!);
    lines(child.stderr!);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`serverless offline exited (${code ?? signal}) before it was ready; its last output:\n${tail}`));
    });
  });
  try {
    await ready;
  } catch (error) {
    await stop();
    throw error;
  }
  return { restBaseUrl: `http://127.0.0.1:${options.apiPort}/${options.stage}`, pid: child.pid!, stop };
}

export async function startStack(options: StackOptions): Promise<RunningStack> {
  const tableName = `calendar-events-${options.stage}`;
  const revocationsTable = `revocations-${options.stage}`;
  const dpopReplayTable = `dpop-replay-${options.stage}`;
  const stops: (() => Promise<void>)[] = [];
  const stop = async (): Promise<void> => {
    for (const stopOne of stops.reverse()) await stopOne().catch(() => undefined);
  };
  try {
    // The issuer's RFC 7009 revocation and sign-out write revocation entries, once the table exists.
    const revocations: { writer?: RevocationWriter } = {};
    const issuer = await startIssuer({
      port: options.issuerPort,
      keyFile: join(options.dataDir, 'issuer-signing-key.json'),
      onRevocation: (event) => {
        const request = event.kind === 'token'
          ? { kind: 'token' as const, issuer: issuer.issuer, value: event.jti, expiresAt: event.expiresAt }
          : { kind: 'subject' as const, issuer: issuer.issuer, value: event.sub };
        revocations.writer?.revoke(request).catch((error: unknown) => process.stderr.write(`local stack: could not write the revocation of ${event.kind === 'token' ? 'a token' : `subject ${event.sub}`}: ${String(error)}\n`));
      },
    });
    stops.push(issuer.stop);
    options.signal?.throwIfAborted();
    const dynamodb = await startDynamoDb({ port: options.dynamodbPort, tableName });
    stops.push(dynamodb.stop);
    options.signal?.throwIfAborted();
    // Before serverless offline: the authorizer's cold start loads it (revocation is on by default).
    await createRevocationsTable(dynamodb.endpoint, revocationsTable);
    // The authorizer claims each DPoP proof's jti there (a conditional PutItem), fleet-wide on AWS.
    await createDpopReplayTable(dynamodb.endpoint, dpopReplayTable);
    const writer = new RevocationWriter({ tableName: revocationsTable, endpoint: dynamodb.endpoint });
    revocations.writer = writer;
    stops.push(async () => writer.close());
    // Its own build folder: another stack (another stage) building at the same time would
    // otherwise overwrite this one's authorizer, and its route table with it.
    const esbuildWorkFolder = `.esbuild/stack-${options.stage}-${options.apiPort}`;
    stops.push(async () => rmSync(join(ROOT, esbuildWorkFolder), { recursive: true, force: true }));
    const offline = await startOffline({
      ...options,
      params: {
        esbuildWorkFolder,
        authIssuer: issuer.issuer,
        // The loopback address, not `localhost`, so no resolver can send key fetches elsewhere.
        authJwksUri: new URL('jwks', issuer.url).href,
        calendarTable: tableName,
        revocationsTable,
        dynamodbEndpoint: dynamodb.endpoint,
        // Opaque tokens (the *-opaque clients' access tokens) go to the issuer's RFC 7662
        // endpoint, as the authorizer's client; on the loopback address, like the JWKS. The
        // literal secret is the local one: deployments name an SSM parameter or a secret instead.
        introspection: 'opaque',
        introspectionEndpoint: new URL('token/introspection', issuer.url).href,
        introspectionClientId: CLIENTS.authorizer.id,
        introspectionClientSecret: CLIENTS.authorizer.secret,
        // DPoP (RFC 9449): proofs are single-use through the replay table on dynalite (the
        // dynamodbEndpoint above), and their htu is checked against the URL clients call. Under
        // serverless offline the event's domain name is a made-up execute-api one, so the public
        // origin is given: clients sign http://localhost:<port>/<stage>/... (REST) or
        // http://localhost:<port>/... (HTTP API), the URLs npm start prints.
        dpopReplayTable,
        dpopPublicOrigin: `http://localhost:${options.apiPort}`,
        // Serverless offline caches no authorizer answer, so every route may take DPoP here: the
        // default stage's calendar takes both schemes (deployed, only APIs with requireDpop do).
        dpopOnAllRoutes: 'true',
        ...options.params,
      },
    });
    stops.push(offline.stop);
    const apiUrl = `http://localhost:${options.apiPort}`;
    return {
      issuer: issuer.issuer,
      issuerUrl: issuer.url,
      apiUrl,
      restBaseUrl: `${apiUrl}/${options.stage}`,
      dynamodbEndpoint: dynamodb.endpoint,
      tableName,
      revocationsTable,
      dpopReplayTable,
      offlinePid: offline.pid,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
