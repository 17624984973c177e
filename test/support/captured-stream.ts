import { Writable } from 'node:stream';

/**
 * A stream that keeps what is written to it, for a command's output; a terminal when `isTTY`, with
 * the cursor calls a progress bar makes.
 */
export function capturedStream(isTTY = false) {
  const chunks: string[] = [];
  const stream = Object.assign(
    new Writable({
      write(chunk, _encoding, done) {
        chunks.push(String(chunk));
        done();
      },
    }),
    isTTY
      ? {
          isTTY: true,
          columns: 120,
          cursorTo: () => true,
          clearLine: () => true,
          moveCursor: () => true,
        }
      : {},
  );
  return { stream, text: () => chunks.join('') };
}
