/** Reading typed settings from environment variables; every mistake names the variable and the fix. */
import { ConfigError } from '../errors.js';

export type Environment = Record<string, string | undefined>;

export function list(value: string): string[] {
  return value.split(',').map((item) => item.trim()).filter((item) => item !== '');
}

export function isSet(env: Environment, variable: string): boolean {
  return env[variable] !== undefined && env[variable].trim() !== '';
}

export function integer(env: Environment, variable: string, fallback: number, min: number, max: number): number {
  const raw = env[variable];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(variable, `"${raw}" is not a whole number from ${min} to ${max}; unset it for the default ${fallback}`);
  }
  return value;
}

export function boolean(env: Environment, variable: string, fallback: boolean): boolean {
  const raw = env[variable]?.trim().toLowerCase();
  if (raw === undefined || raw === '') return fallback;
  if (raw === 'true' || raw === '1') return true;
  if (raw === 'false' || raw === '0') return false;
  throw new ConfigError(variable, `"${env[variable]}" is not true or false`);
}
