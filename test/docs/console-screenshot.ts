// Takes the README's picture of the manager console, docs/console.png, from a scripted school
// morning. Run it from the checkout after a change to the page: npx tsx test/docs/console-screenshot.ts
import { resolve } from 'node:path';
import { signAccessToken } from '../../src/adapters/jwt/sign-access-token.js';
import { DESKTOP, launchChromium, openPage } from '../support/chromium.js';
import { ScriptedPresenceServer } from '../support/scripted-presence-server.js';

const OUTPUT = resolve(import.meta.dirname, '../../docs/console.png');
const ORG = 'north-school';

const nowS = Math.floor(Date.now() / 1000);
const online = (userId: string, lessonId: string | null, minutesAgo: number) => ({
  user_id: userId,
  state: 'connect' as const,
  login_time: nowS - minutesAgo * 60,
  since: nowS - minutesAgo * 60,
  lesson_id: lessonId,
});

const server = await ScriptedPresenceServer.start({ disconnectGraceS: 300, cooldownS: 300 });
const browser = await launchChromium();
try {
  for (const teacher of [
    online('t-ada', 'lesson-maths-7b', 48),
    online('t-alan', 'lesson-physics-9a', 22),
    online('t-barbara', null, 5),
    online('t-edsger', 'lesson-algebra-8c', 61),
    online('t-grace', 'lesson-art-6a', 35),
    online('t-hedy', 'lesson-music-5b', 12),
    online('t-katherine', 'lesson-geometry-10', 74),
    online('t-linus', null, 140),
    online('t-margaret', 'lesson-history-8a', 9),
    online('t-radia', null, 3),
  ]) {
    server.truth.set(teacher.user_id, teacher);
  }
  const { page } = await openPage(browser, DESKTOP);
  await page.goto(`${server.url}/console`);
  const token = await signAccessToken({
    secret: 'screenshot-secret-never-checked',
    sub: 'm-ines',
    orgId: ORG,
    role: 'admin',
    ttlS: 3600,
    nowS,
  });
  await page.getByLabel('Manager token').fill(token);
  await page.getByRole('button', { name: 'Connect' }).click();
  await page.locator('[data-user-id="t-radia"]').waitFor();

  server.teacherDisconnects('t-grace', 'transport close');
  server.teacherDisconnects('t-hedy', 'ping timeout');
  server.teacherConnects('t-hedy');
  server.sessionEnds('t-linus');
  page.once('dialog', (dialog) => void dialog.accept());
  await page
    .locator('[data-user-id="t-radia"]')
    .getByRole('button', { name: 'Force logout' })
    .click();
  await page.locator('[data-user-id="t-radia"] .force-result:text("Delivered")').waitFor();
  server.teacherDisconnects('t-radia', 'io server disconnect');
  await page.locator('[data-user-id="t-radia"][data-state="grace"]').waitFor();
  await page.locator('[data-user-id="t-linus"][data-state="offline"]').waitFor();
  // A minute and a half later, so the picture shows time in state and countdowns under way.
  await page.clock.setFixedTime(Date.now() + 95_000);
  await page.locator('[data-user-id="t-grace"] .countdown:text("ends in 3:2")').waitFor();

  await page.mouse.move(0, 0);
  await page.screenshot({ path: OUTPUT });
  console.log(`Saved ${OUTPUT}`);
} finally {
  await browser.close();
  await server.close();
}
