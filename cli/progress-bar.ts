import { SingleBar } from 'cli-progress';

/** Where a command draws its progress: standard error, a terminal or not. */
export type ProgressStream = NodeJS.WritableStream & { readonly isTTY?: boolean };

/**
 * A progress bar on `stream` in `format` (cli-progress tokens), or null when nobody would see it:
 * `stream` is not a terminal (a pipe, a file, CI) or the output is for a program (`--json`). The
 * bar clears itself when stopped, so that only the report stays on the screen.
 */
export function progressBar(
  stream: ProgressStream,
  format: string,
  json: boolean | undefined,
): SingleBar | null {
  if (stream.isTTY !== true || json === true) return null;
  return new SingleBar({ stream, format, hideCursor: true, clearOnComplete: true });
}
