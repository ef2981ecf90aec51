/**
 * One JSON object per line on stdout, as CloudWatch Logs and Logs Insights expect.
 * Callers pass reason codes and identifiers only: no token, signature or header ever.
 */
const LEVELS = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 } as const;
export type LogLevel = keyof typeof LEVELS;

export interface Logger {
  /** `force` writes the line whatever the level: it carries metrics that must not be lost. */
  log(level: Exclude<LogLevel, 'silent'>, message: string, fields?: Record<string, unknown>, force?: boolean): void;
  /** Whether a line at this level would be written: lets callers skip building it. */
  enabled(level: Exclude<LogLevel, 'silent'>): boolean;
}

export function createLogger(levelName: string | undefined, write: (line: string) => void = (line) => process.stdout.write(line + '\n')): Logger {
  const normalized = (levelName ?? 'info').toLowerCase();
  const threshold = normalized in LEVELS ? LEVELS[normalized as LogLevel] : LEVELS.info;
  return {
    log(level, message, fields = {}, force = false) {
      if (!force && LEVELS[level] < threshold) return;
      write(JSON.stringify({ level, message, timestamp: new Date().toISOString(), ...fields }));
    },
    enabled: (level) => LEVELS[level] >= threshold,
  };
}
