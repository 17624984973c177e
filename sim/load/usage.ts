import { parseDuration } from '../options.js';

/** A command-line value that cannot be used: the command exits 2 with this one-line message. */
export class UsageError extends Error {}

/** Reads `--name value` as a whole number from `min` to `max`. */
export function wholeNumberOption(name: string, text: string, min: number, max: number): number {
  const value = /^[0-9]{1,9}$/.test(text) ? Number(text) : Number.NaN;
  if (!(value >= min && value <= max)) {
    throw new UsageError(
      `--${name} must be a whole number from ${min} to ${max}, got ${JSON.stringify(text)}`,
    );
  }
  return value;
}

/** Reads `--name 60s` (also `500ms`, `2m`, a bare number of seconds) within `[minMs, maxMs]`. */
export function durationOption(name: string, text: string, minMs: number, maxMs: number): number {
  const ms = parseDuration(text);
  if (ms === null || ms < minMs || ms > maxMs) {
    throw new UsageError(
      `--${name} must be a duration from ${minMs / 1000}s to ${maxMs / 1000}s such as 60s or 2m, got ${JSON.stringify(text)}`,
    );
  }
  return ms;
}

/** A PostgreSQL URL that names its database, e.g. postgres://postgres@127.0.0.1:5432/classroom. */
export function postgresUrlOption(name: string, text: string): string {
  const url = URL.canParse(text) ? new URL(text) : null;
  if (
    url === null ||
    (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') ||
    url.pathname.length < 2
  ) {
    throw new UsageError(`--${name} must be a postgres://host/database URL`);
  }
  return text;
}

/** The first line of an error's message: what a command prints when it fails. */
export function firstLineOf(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split('\n', 1)[0] ?? text;
}
