/**
 * One JSON object per line on stdout, in the format of Powertools for AWS Lambda's Logger: the same
 * keys (level, message, timestamp, service, cold_start, function_*, xray_trace_id) and the same
 * environment variables, so its dashboards and Logs Insights queries work unchanged. The library
 * itself is not bundled: it would add 34 KB, ~8 ms of cold start and ~7 µs per line to the
 * authorizer (README, Logs). test/log-format.test.ts compares the two line by line.
 * Callers pass reason codes and identifiers only: no token, signature or header ever.
 */
import type { Context } from 'aws-lambda';

// Powertools' thresholds and names. We write no TRACE or CRITICAL lines, but a threshold may be set
// there (Lambda's FATAL is Powertools' CRITICAL: it silences ERROR lines too).
const THRESHOLDS = { TRACE: 6, DEBUG: 8, INFO: 12, WARN: 16, ERROR: 20, CRITICAL: 24, SILENT: 28 } as const;
const ALIASES: Record<string, keyof typeof THRESHOLDS> = { FATAL: 'CRITICAL' };
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const NAMES = { debug: 'DEBUG', info: 'INFO', warn: 'WARN', error: 'ERROR' } as const;

export interface Logger {
  readonly service: string;
  /**
   * Writes one line. A line given `metrics` (EMF keys) is written whatever the level: metrics must
   * not be lost. They are a separate argument so the line is built in one spread: merging them into
   * `fields` first makes a large intermediate object that costs JSON.stringify twice the time.
   */
  log(level: LogLevel, message: string, fields?: Record<string, unknown>, metrics?: Record<string, unknown>): void;
  /**
   * Writes one line whose members after the standard keys are already JSON (`"a":1,"b":"x"`, no
   * braces; never a standard key): the hot path's line, built without an intermediate object.
   */
  logJson(level: LogLevel, message: string, members: string): void;
  /** Whether a line at this level would be written: lets callers skip building it. */
  enabled(level: LogLevel): boolean;
  /** Tags the lines that follow with this invocation's Lambda context (and cold start). */
  startInvocation(context: Context | undefined): void;
}

export interface LoggerOptions {
  /** `service` on every line (and the metrics' service dimension). */
  service: string;
  /** A level name; unknown or absent means INFO. */
  level?: string | undefined;
  write?: (line: string) => void;
  /** For tests: the environment read per invocation (`_X_AMZN_TRACE_ID`). */
  env?: NodeJS.ProcessEnv;
}

type Environment = Readonly<Record<string, string | undefined>>;

/**
 * The level: ours (AUTH_LOG_LEVEL), else Powertools' (POWERTOOLS_LOG_LEVEL, then the legacy
 * LOG_LEVEL), and never below Lambda's log-level control (AWS_LAMBDA_LOG_LEVEL), under which
 * Lambda drops lines anyway. Powertools lets Lambda's level win outright; the stricter of the two
 * is taken here instead, because Lambda sets its level (INFO) whenever the JSON log format is on,
 * which would otherwise silently override AUTH_LOG_LEVEL=warn.
 */
export function logLevelFromEnv(env: Environment): string | undefined {
  const configured = ['AUTH_LOG_LEVEL', 'POWERTOOLS_LOG_LEVEL', 'LOG_LEVEL'].map((name) => env[name]?.trim()).find((value) => value);
  const lambda = env['AWS_LAMBDA_LOG_LEVEL']?.trim() || undefined;
  if (lambda === undefined || configured === undefined) return lambda ?? configured;
  return threshold(lambda) >= threshold(configured) ? lambda : configured;
}

/** `POWERTOOLS_SERVICE_NAME` when set, as in Powertools; otherwise the function's own name for it. */
export function serviceNameFromEnv(env: Environment, fallback: string): string {
  return env['POWERTOOLS_SERVICE_NAME']?.trim() || fallback;
}

function threshold(levelName: string | undefined): number {
  const upper = (levelName ?? 'INFO').trim().toUpperCase();
  const name = ALIASES[upper] ?? upper;
  return name in THRESHOLDS ? THRESHOLDS[name as keyof typeof THRESHOLDS] : THRESHOLDS.INFO;
}

/** The Root of an X-Ray trace header (`Root=1-…;Parent=…;Sampled=1`), as Powertools reports it. */
function traceRoot(header: string | undefined): string | undefined {
  const root = header?.split(';').find((part) => part.startsWith('Root='));
  return root === undefined ? undefined : root.slice(5);
}

export function createLogger(options: LoggerOptions): Logger {
  const write = options.write ?? ((line: string) => process.stdout.write(line + '\n'));
  const env = options.env ?? process.env;
  const minimum = threshold(options.level);
  // As Powertools: only an on-demand container's first invocation waited for a cold start
  // (provisioned concurrency starts containers ahead of requests; elsewhere it is unknown).
  let coldStart = env['AWS_LAMBDA_INITIALIZATION_TYPE']?.trim() === 'on-demand';
  const base = { service: options.service };
  // The invocation's keys are built when its first line is written: most requests write none
  // (log level above info, metrics off) and should not pay for them. Keys that are the same for
  // every invocation of a container (function_arn, function_name, function_memory_size) are written
  // on its first line only: its log stream holds the container's lines, and the log group names the
  // function, so repeating them would only cost bytes (~160 a line).
  let context: Context | undefined;
  let coldInvocation = false;
  let containerKeysWritten = false;
  let invocation: Record<string, unknown> | undefined = base;
  let invocationJson: string | undefined;
  const invocationKeys = (): Record<string, unknown> => {
    if (invocation !== undefined) return invocation;
    const current = context!;
    const containerKeys = containerKeysWritten ? {} : {
      function_arn: current.invokedFunctionArn,
      function_memory_size: current.memoryLimitInMB,
      function_name: current.functionName,
    };
    containerKeysWritten = true;
    return (invocation = {
      service: options.service,
      cold_start: coldInvocation,
      ...containerKeys,
      function_request_id: current.awsRequestId,
      xray_trace_id: traceRoot(env['_X_AMZN_TRACE_ID']),
    });
  };
  // The same keys as JSON members, built once per invocation.
  const invocationMembers = (): string => (invocationJson ??= JSON.stringify(invocationKeys()).slice(1, -1));
  const prefixes = Object.fromEntries(Object.entries(NAMES).map(([level, name]) => [level, `{"level":"${name}","message":`])) as Record<LogLevel, string>;
  return {
    service: options.service,
    log(level, message, fields, metrics) {
      const name = NAMES[level];
      if (metrics === undefined && THRESHOLDS[name] < minimum) return;
      write(JSON.stringify({ level: name, message, timestamp: new Date().toISOString(), ...invocationKeys(), ...fields, ...metrics }));
    },
    logJson(level, message, members) {
      write(`${prefixes[level]}${JSON.stringify(message)},"timestamp":"${new Date().toISOString()}",${invocationMembers()}${members === '' ? '' : `,${members}`}}`);
    },
    enabled: (level) => THRESHOLDS[NAMES[level]] >= minimum,
    startInvocation(next) {
      context = next;
      invocation = next === undefined ? base : undefined;
      invocationJson = undefined;
      coldInvocation = coldStart && next !== undefined;
      if (next !== undefined) coldStart = false;
    },
  };
}

/**
 * A caught error as the operator's log should carry it: kind, message and cause, never a stack
 * (it can hold paths and request data) and never the request. Callers pass only errors of their
 * own dependencies (SDK, index), which do not hold tokens.
 */
export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return `non-Error thrown: ${String(error).slice(0, 200)}`;
  const cause = error.cause instanceof Error ? ` (cause: ${error.cause.name}: ${error.cause.message})` : '';
  return `${error.name}: ${error.message}${cause}`;
}
