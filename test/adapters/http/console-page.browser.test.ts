import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { signAccessToken } from '../../../src/adapters/jwt/sign-access-token.js';
import type { Role } from '../../../src/domain/clients.js';
import {
  DESKTOP,
  hasChromium,
  launchChromium,
  openPage,
  type PageTraffic,
  PHONE,
  saveScreenshot,
} from '../../support/chromium.js';
import {
  type HistoryEvent,
  type PresenceEntry,
  ScriptedPresenceServer,
} from '../../support/scripted-presence-server.js';

const ORG = 'school-7';
const GRACE_S = 300;
const COOLDOWN_S = 600;
/** PROTOCOL §5b: a change shows within one second of its event. */
const WITHIN_ONE_SECOND = { timeout: 1_000 };

const nowS = () => Math.floor(Date.now() / 1000);

const managerToken = (role: Role = 'admin') =>
  signAccessToken({
    secret: 'scripted-server-secret-never-checked',
    sub: 'm-ines',
    orgId: ORG,
    role,
    ttlS: 3600,
    nowS: nowS(),
  });

const entry = (userId: string, overrides: Partial<PresenceEntry> = {}): PresenceEntry => ({
  user_id: userId,
  state: 'connect',
  login_time: nowS() - 3600,
  since: nowS() - 600,
  lesson_id: null,
  ...overrides,
});

const teacherRow = (page: Page, userId: string) => page.locator(`[data-user-id="${userId}"]`);

describe.runIf(hasChromium)('the manager console in Chromium', () => {
  let browser: Browser;
  let server: ScriptedPresenceServer;
  const opened: Array<{ close(): Promise<void> }> = [];

  beforeAll(async () => {
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
  });

  afterEach(async () => {
    for (const context of opened.splice(0)) await context.close();
    await server?.close();
  });

  async function startServer(teachers: PresenceEntry[] = []) {
    server = await ScriptedPresenceServer.start({
      disconnectGraceS: GRACE_S,
      cooldownS: COOLDOWN_S,
    });
    for (const teacher of teachers) server.truth.set(teacher.user_id, teacher);
    return server;
  }

  /** Opens the console, pastes a token and presses Connect. */
  async function connectedConsole(
    options: {
      role?: Role;
      viewport?: { width: number; height: number };
      fixedTimeMs?: number;
    } = {},
  ): Promise<{ page: Page; traffic: PageTraffic; token: string }> {
    const { context, page, traffic } = await openPage(browser, options.viewport ?? DESKTOP);
    opened.push(context);
    if (options.fixedTimeMs !== undefined) await page.clock.setFixedTime(options.fixedTimeMs);
    const token = await managerToken(options.role);
    await page.goto(`${server.url}/console`);
    await page.getByLabel('Manager token').fill(token);
    await page.getByRole('button', { name: 'Connect' }).click();
    await page.locator('body[data-connection="connected"]').waitFor();
    return { page, traffic, token };
  }

  it('shows the school’s teachers once a manager token is pasted, sending the token only in the Socket.IO auth object', async () => {
    await startServer([
      entry('t-ada', { lesson_id: 'lesson-math' }),
      entry('t-grace', { state: 'disconnect', since: nowS() - 30, lesson_id: 'lesson-art' }),
      entry('t-alan', { lesson_id: null, since: nowS() - 5400 }),
    ]);
    const { page, traffic, token } = await connectedConsole();

    await expect.poll(() => teacherRow(page, 't-ada').getAttribute('data-state')).toBe('online');
    expect(await teacherRow(page, 't-grace').getAttribute('data-state')).toBe('grace');
    expect(await teacherRow(page, 't-ada').textContent()).toContain('lesson-math');
    expect(await teacherRow(page, 't-alan').locator('.since').textContent()).toBe('1 h 30 min');
    expect(
      await page
        .locator('[data-user-id]')
        .evaluateAll((rows) => rows.map((row) => row.getAttribute('data-user-id'))),
    ).toEqual(['t-ada', 't-alan', 't-grace']);

    expect(server.handshakes).toEqual([
      { auth: token, role: 'admin', org_id: ORG, product_type: 'manager' },
    ]);
    expect(traffic.urls.filter((url) => url.includes(token))).toEqual([]);
    expect(await page.context().cookies()).toEqual([]);
    expect(await page.evaluate(() => Object.values(sessionStorage))).toEqual([token]);
    await saveScreenshot(page, 'connected-1280x800');
  });

  it('shows a teacher online within one second of teacher_connect, in grace with a countdown to the session end, then offline, and keeps listing it', async () => {
    await startServer();
    const { page } = await connectedConsole();
    const row = teacherRow(page, 't-ada');

    server.teacherConnects('t-ada', 'lesson-math');
    await page.locator('[data-user-id="t-ada"][data-state="online"]').waitFor(WITHIN_ONE_SECOND);
    expect(await row.locator('.badge').textContent()).toBe('Online');

    server.teacherDisconnects('t-ada', 'transport close');
    await page.locator('[data-user-id="t-ada"][data-state="grace"]').waitFor(WITHIN_ONE_SECOND);
    expect(await row.locator('.badge').textContent()).toBe('In grace');
    expect(await row.locator('.reason').textContent()).toMatch(/^transport close · /);
    const first = await row.locator('.countdown').textContent();
    expect(first).toMatch(/^ends in (5:00|4:59)$/);
    await expect
      .poll(() => row.locator('.countdown').textContent(), { timeout: 3_000 })
      .not.toBe(first);
    await saveScreenshot(page, 'grace-1280x800');

    server.sessionEnds('t-ada');
    await page.locator('[data-user-id="t-ada"][data-state="offline"]').waitFor(WITHIN_ONE_SECOND);
    expect(await row.locator('.badge').textContent()).toBe('Offline');
    expect(await row.locator('.countdown').textContent()).toBe('');
  });

  it('counts a grace period from the snapshot down to the session end', async () => {
    await startServer([entry('t-ada', { state: 'disconnect', since: nowS() - (GRACE_S - 3) })]);
    const { page } = await connectedConsole();
    const countdown = teacherRow(page, 't-ada').locator('.countdown');
    await expect.poll(() => countdown.textContent()).toMatch(/^ends in 0:0[1-3]$/);
    await expect.poll(() => countdown.textContent(), { timeout: 5_000 }).toBe('ending now');
  });

  it('shows a teacher’s history in a drawer, newest first, and pages back through older events', async () => {
    const startMs = Date.now() - 62 * 60_000;
    const events: HistoryEvent[] = Array.from({ length: 60 }, (_, index) => ({
      at: startMs + (60 - index) * 60_000,
      kind: index % 2 === 0 ? 'disconnect' : 'connect',
      reason: index % 2 === 0 ? 'ping timeout' : 'reconnect',
      node: 'node-a',
    }));
    events.unshift({
      at: startMs + 61 * 60_000,
      kind: 'logout',
      reason: 'force_logout',
      by: 'm-ines',
      node: 'node-b',
    });
    await startServer([entry('t-ada')]);
    server.history.set('t-ada', events);
    const { page } = await connectedConsole();

    await teacherRow(page, 't-ada').getByRole('button', { name: 'History' }).click();
    const drawer = page.getByRole('dialog', { name: 'History of t-ada' });
    await drawer.waitFor();
    await expect.poll(() => drawer.locator('li').count()).toBe(50);
    expect(await drawer.locator('li').first().textContent()).toContain('force_logout');
    expect(await drawer.locator('li').first().textContent()).toContain('by m-ines');
    await saveScreenshot(page, 'history-1280x800');

    await drawer.getByRole('button', { name: 'Load older' }).click();
    await expect.poll(() => drawer.locator('li').count()).toBe(61);
    expect(await drawer.getByRole('button', { name: 'Load older' }).isHidden()).toBe(true);
    const [firstPage, secondPage] = server.requestsOf('get_presence_history');
    expect(firstPage?.payload).toEqual({ user_id: 't-ada', limit: 50 });
    expect(secondPage?.payload).toEqual({ user_id: 't-ada', limit: 50, before: events[49]?.at });

    await page.keyboard.press('Escape');
    await drawer.waitFor({ state: 'hidden' });
  });

  it('asks before forcing a logout, then shows that it was delivered and when the cooldown ends', async () => {
    await startServer([entry('t-ada', { lesson_id: 'lesson-math' })]);
    const { page } = await connectedConsole();
    const row = teacherRow(page, 't-ada');

    page.once('dialog', (dialog) => void dialog.dismiss());
    await row.getByRole('button', { name: 'Force logout' }).click();
    expect(server.requestsOf('force_logout')).toEqual([]);

    let question = '';
    page.once('dialog', (dialog) => {
      question = dialog.message();
      void dialog.accept();
    });
    await row.getByRole('button', { name: 'Force logout' }).click();
    const result = row.locator('.force-result');
    await expect.poll(() => result.textContent()).toMatch(/^Delivered · cooldown ends /);
    expect(question).toContain('t-ada');
    expect(question).toContain('10 min');
    const [sent] = server.requestsOf('force_logout');
    expect(sent?.payload).toEqual({ user_id: 't-ada', org_id: ORG });
    // The page counts from the answer's arrival: after the request was sent, by now at the latest.
    const cooldownEnds = await page.evaluate(
      (moments) =>
        moments.map((atMs) =>
          new Intl.DateTimeFormat(undefined, {
            hour: '2-digit',
            minute: '2-digit',
            second: '2-digit',
          }).format(atMs),
        ),
      [sent?.atMs ?? 0, Date.now()].map((atMs) => atMs + COOLDOWN_S * 1000),
    );
    expect(cooldownEnds.map((end) => `Delivered · cooldown ends ${end}`)).toContain(
      await result.textContent(),
    );
    await saveScreenshot(page, 'force-logout-1280x800');

    server.forceLogoutDelivers = false;
    page.once('dialog', (dialog) => void dialog.accept());
    await row.getByRole('button', { name: 'Force logout' }).click();
    await expect
      .poll(() => result.textContent())
      .toMatch(/^Not delivered \(no app connected\) · cooldown ends /);
  });

  it('offers Force logout to admins only', async () => {
    await startServer([entry('t-ada')]);
    const { page } = await connectedConsole({ role: 'teacher' });
    await teacherRow(page, 't-ada').waitFor();
    expect(await page.getByRole('button', { name: 'Force logout' }).count()).toBe(0);
    expect(await teacherRow(page, 't-ada').getByRole('button', { name: 'History' }).count()).toBe(
      1,
    );
  });

  it('says why the service refused the token', async () => {
    await startServer();
    server.refusal = { code: 'unauthorized', message: 'The token has expired.' };
    const { context, page } = await openPage(browser);
    opened.push(context);
    await page.goto(`${server.url}/console`);
    await page.getByLabel('Manager token').fill(await managerToken());
    await page.getByRole('button', { name: 'Connect' }).click();
    await page.locator('body[data-connection="refused"]').waitFor();
    expect(await page.locator('#connection').textContent()).toContain(
      'Refused (unauthorized): The token has expired.',
    );
  });

  it('tries again after retry_after_s when the service is unavailable for now', async () => {
    await startServer([entry('t-ada')]);
    server.refusal = { code: 'unavailable', message: 'Redis is away.', retry_after_s: 1 };
    const { context, page } = await openPage(browser);
    opened.push(context);
    await page.goto(`${server.url}/console`);
    await page.getByLabel('Manager token').fill(await managerToken());
    await page.getByRole('button', { name: 'Connect' }).click();
    await page.locator('body[data-connection="lost"]').waitFor();
    expect(await page.locator('#connection').textContent()).toBe(
      'The service refused for now (unavailable): Redis is away. Trying again in 1 s.',
    );

    server.refusal = null;
    await page.locator('body[data-connection="connected"]').waitFor({ timeout: 3_000 });
    await teacherRow(page, 't-ada').waitFor();
  });

  it('says when its connection drops and when it is back, and re-syncs with get_presence', async () => {
    await startServer([entry('t-ada'), entry('t-grace')]);
    const { page } = await connectedConsole();
    await teacherRow(page, 't-grace').waitFor();

    server.dropManagers();
    await page.locator('body[data-connection="lost"]').waitFor(WITHIN_ONE_SECOND);
    expect(await page.locator('#connection').textContent()).toMatch(
      /^Connection lost at .* Reconnecting…/,
    );
    await saveScreenshot(page, 'connection-lost-1280x800');

    // What happens while the page cannot hear: it learns it from the re-sync.
    server.truth.delete('t-grace');
    server.truth.set('t-ada', entry('t-ada', { state: 'disconnect', since: nowS() }));
    server.truth.set('t-hedy', entry('t-hedy', { lesson_id: 'lesson-physics' }));
    const asked = server.requestsOf('get_presence').length;
    server.admitAgain();

    await page.locator('body[data-connection="connected"]').waitFor({ timeout: 5_000 });
    await expect
      .poll(() => page.locator('#connection').textContent())
      .toMatch(/^Connection back at .*The list is up to date again\.$/);
    expect(server.requestsOf('get_presence').length).toBe(asked + 1);
    expect(await teacherRow(page, 't-ada').getAttribute('data-state')).toBe('grace');
    expect(await teacherRow(page, 't-grace').getAttribute('data-state')).toBe('offline');
    expect(await teacherRow(page, 't-hedy').getAttribute('data-state')).toBe('online');
  });

  it('renders 2,000 teachers and redraws only the row an event changes', async () => {
    const fixedTimeMs = Date.now();
    const fixedS = Math.floor(fixedTimeMs / 1000);
    const teachers = Array.from({ length: 2000 }, (_, index) =>
      entry(`t-${index}`, {
        since: fixedS - 7200,
        lesson_id: index % 3 === 0 ? null : `lesson-${index}`,
        state: index % 10 === 0 ? 'disconnect' : 'connect',
      }),
    );
    await startServer(teachers);
    // Frozen time: the ageing texts stay as they are, so any DOM change comes from the event.
    const { page } = await connectedConsole({ fixedTimeMs });
    await expect.poll(() => page.locator('[data-user-id]').count(), { timeout: 5_000 }).toBe(2000);

    await page.evaluate(() => {
      const changes: Array<{ target: string }> = [];
      const describe = (node: Node): string => {
        const element = node instanceof Element ? node : node.parentElement;
        const row = element?.closest('[data-user-id]');
        if (row) return `row ${row.getAttribute('data-user-id')}`;
        return element?.closest('.filters') ? 'counts' : (element?.outerHTML.slice(0, 80) ?? '?');
      };
      new MutationObserver((records) => {
        for (const record of records) changes.push({ target: describe(record.target) });
      }).observe(document.body, {
        subtree: true,
        childList: true,
        attributes: true,
        characterData: true,
      });
      Object.assign(window, { changes });
    });
    server.teacherDisconnects('t-1234', 'ping timeout');
    await page.locator('[data-user-id="t-1234"][data-state="grace"]').waitFor(WITHIN_ONE_SECOND);
    // Two more ticks of the one timer pass: they must not touch anything either.
    await page.waitForTimeout(2_100);
    const changes = await page.evaluate(
      () => (window as unknown as { changes: Array<{ target: string }> }).changes,
    );
    expect(new Set(changes.map((change) => change.target))).toEqual(
      new Set(['row t-1234', 'counts']),
    );
    expect(changes.length).toBeLessThan(20);
  });

  it('keeps up with an update for each of 2,000 teachers without a long frame', async () => {
    const teachers = Array.from({ length: 2000 }, (_, index) => entry(`t-${index}`));
    await startServer(teachers);
    const { page } = await connectedConsole();
    await expect.poll(() => page.locator('[data-user-id]').count(), { timeout: 5_000 }).toBe(2000);
    await page.evaluate(() => {
      const longTasksMs: number[] = [];
      new PerformanceObserver((list) => {
        for (const task of list.getEntries()) longTasksMs.push(task.duration);
      }).observe({ type: 'longtask' });
      Object.assign(window, { longTasksMs });
    });
    for (const teacher of teachers) server.teacherDisconnects(teacher.user_id, 'transport close');
    await expect
      .poll(() => page.locator('[data-state="grace"]').count(), { timeout: 5_000 })
      .toBe(2000);
    // Every row now counts down: the one timer rewrites 2,000 countdowns each second.
    await page.waitForTimeout(3_000);
    const longTasksMs = await page.evaluate(
      () => (window as unknown as { longTasksMs: number[] }).longTasksMs,
    );
    expect(Math.max(0, ...longTasksMs)).toBeLessThan(250);
  });

  it('loads nothing from outside the service and breaks none of its own security policy', async () => {
    await startServer([entry('t-ada')]);
    const { page, traffic } = await connectedConsole();
    await teacherRow(page, 't-ada').getByRole('button', { name: 'History' }).click();
    await page.getByRole('dialog').waitFor();
    const origin = new URL(server.url);
    expect(traffic.urls.length).toBeGreaterThan(0);
    for (const url of traffic.urls) expect(new URL(url).host).toBe(origin.host);
    expect(traffic.consoleErrors).toEqual([]);
  });

  it('can be used with the keyboard alone', async () => {
    await startServer([entry('t-ada')]);
    const { context, page } = await openPage(browser);
    opened.push(context);
    await page.goto(`${server.url}/console`);
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('token');
    await page.keyboard.insertText(await managerToken());
    await page.keyboard.press('Enter');
    await teacherRow(page, 't-ada').waitFor();

    const focusedText = () => page.evaluate(() => document.activeElement?.textContent?.trim());
    const history = teacherRow(page, 't-ada').getByRole('button', { name: 'History' });
    for (let presses = 0; presses < 10 && (await focusedText()) !== 'History'; presses += 1) {
      await page.keyboard.press('Tab');
    }
    expect(await history.evaluate((button) => button === document.activeElement)).toBe(true);
    await page.keyboard.press('Enter');
    await page.getByRole('dialog').waitFor();
    expect(await focusedText()).toBe('Close');
    await page.keyboard.press('Escape');
    await page.getByRole('dialog').waitFor({ state: 'hidden' });
    expect(await history.evaluate((button) => button === document.activeElement)).toBe(true);

    await page.keyboard.press('Tab');
    expect(await focusedText()).toBe('Force logout');
    page.once('dialog', (dialog) => void dialog.accept());
    await page.keyboard.press('Enter');
    await expect
      .poll(() => teacherRow(page, 't-ada').locator('.force-result').textContent())
      .toMatch(/^Delivered/);
  });

  it('reads as cards on a narrow screen', async () => {
    await startServer([
      entry('t-ada', { lesson_id: 'lesson-math' }),
      entry('t-grace', { state: 'disconnect', since: nowS() - 42, lesson_id: 'lesson-art' }),
      entry('t-alan'),
    ]);
    const { page } = await connectedConsole({ viewport: PHONE });
    await teacherRow(page, 't-grace').waitFor();
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    expect(width).toBeLessThanOrEqual(PHONE.width);
    await saveScreenshot(page, 'connected-390x844');
  });
});
