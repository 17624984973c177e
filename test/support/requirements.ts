/**
 * Whether a suite that needs something of the machine can run: a service such as Redis, or a
 * client the project did not write such as python-socketio or Chromium. `missing` says what is
 * wrong, or is null when nothing is. In CI (`CI=true`) a missing one is a failure, so a
 * misconfigured CI is red rather than silently green; on a developer's machine the suite is
 * skipped and named, so `npm test` still passes everything else.
 */
export function requirement(name: string, missing: string | null): boolean {
  if (missing === null) return true;
  if (process.env.CI === 'true') {
    throw new Error(`${name} is required in CI (CI=true) but ${missing}.`);
  }
  console.warn(`[skipped] ${name} ${missing}: its tests are skipped.`);
  return false;
}
