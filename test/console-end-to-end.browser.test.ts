import { pino } from 'pino';
import type { Browser, Page } from 'playwright-core';
import { io, type Socket } from 'socket.io-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DEMO } from '../src/adapters/in-memory/demo-data.js';
import { signAccessToken } from '../src/adapters/jwt/sign-access-token.js';
import { type Config, loadConfig } from '../src/config.js';
import type { Role } from '../src/domain/clients.js';
import { type RunningService, startService } from '../src/runtime.js';
import {
  hasChromium,
  launchChromium,
  openPage,
  type PageTraffic,
  saveScreenshot,
} from './support/chromium.js';

/** Short, so that a session ends within the test; the sweep finds it within a second more. */
const GRACE_S = 2;
const SWEEP_INTERVAL_S = 1;
/** PROTOCOL §5b: a change shows within one second of its event. */
const WITHIN_ONE_SECOND = { timeout: 1_000 };
const [TEACHER] = DEMO.teachers;

/**
 * The console against a real embedded node (startService), with a real socket.io-client teacher:
 * what a manager sees of a teacher's day, end to end, through the contract of PROTOCOL §5, §5a and
 * §5b.
 */
describe.runIf(hasChromium)('the manager console on a real node', () => {
  let browser: Browser;
  const services: RunningService[] = [];
  const teachers: Socket[] = [];
  const contexts: Array<{ close(): Promise<void> }> = [];

  beforeAll(async () => {
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
  });

  afterEach(async () => {
    for (const context of contexts.splice(0)) await context.close();
    for (const teacher of teachers.splice(0)) teacher.close();
    await Promise.all(services.splice(0).map((service) => service.close()));
  });

  async function startNode(): Promise<{ service: RunningService; config: Config }> {
    const loaded = loadConfig({
      PORT: '0',
      HOST: '127.0.0.1',
      DISCONNECT_GRACE_S: String(GRACE_S),
      SWEEP_INTERVAL_S: String(SWEEP_INTERVAL_S),
      COOLDOWN_S: '60',
    });
    if (!loaded.ok) throw new Error(loaded.error.message);
    const service = await startService(loaded.value, { logger: pino({ level: 'silent' }) });
    services.push(service);
    return { service, config: loaded.value };
  }

  const tokenFor = (config: Config, sub: string, role: Role) =>
    signAccessToken({
      secret: config.jwt.secret,
      sub,
      orgId: DEMO.orgId,
      role,
      ttlS: 600,
      nowS: Math.floor(Date.now() / 1000),
    });

  /** The demo teacher's app, connected. */
  async function teacherConnects(service: RunningService, config: Config): Promise<Socket> {
    const teacher = io(`${service.url}/classroom`, {
      path: '/sockets',
      auth: {
        auth: await tokenFor(config, TEACHER, 'teacher'),
        role: 'teacher',
        org_id: DEMO.orgId,
      },
      reconnection: false,
    });
    teachers.push(teacher);
    await new Promise<void>((done, failed) => {
      teacher.once('connect', done);
      teacher.once('connect_error', failed);
    });
    return teacher;
  }

  /** The console, with the demo admin's token pasted and connected. */
  async function managerConsole(
    service: RunningService,
    config: Config,
  ): Promise<{ page: Page; traffic: PageTraffic }> {
    const { context, page, traffic } = await openPage(browser);
    contexts.push(context);
    await page.goto(`${service.url}/console`);
    await page
      .getByLabel('Manager token')
      .fill(await tokenFor(config, DEMO.manager.userId, DEMO.manager.role));
    await page.getByRole('button', { name: 'Connect' }).click();
    await page.locator('body[data-connection="connected"]').waitFor();
    return { page, traffic };
  }

  const teacherIn = (page: Page, state: 'online' | 'grace' | 'offline') =>
    page.locator(`[data-user-id="${TEACHER}"][data-state="${state}"]`);

  it('shows a teacher online within a second of connecting, in grace when its app disconnects, offline when the grace ends, and why in its history', async () => {
    const { service, config } = await startNode();
    const { page, traffic } = await managerConsole(service, config);

    const teacher = await teacherConnects(service, config);
    await teacherIn(page, 'online').waitFor(WITHIN_ONE_SECOND);

    teacher.disconnect();
    await teacherIn(page, 'grace').waitFor(WITHIN_ONE_SECOND);
    const row = teacherIn(page, 'grace');
    expect(await row.locator('.reason').textContent()).toMatch(/^client namespace disconnect · /);
    expect(await row.locator('.countdown').textContent()).toMatch(/^ends in 0:0[12]$/);
    await saveScreenshot(page, 'real-node-grace-1280x800');

    await teacherIn(page, 'offline').waitFor({ timeout: (GRACE_S + SWEEP_INTERVAL_S + 1) * 1000 });

    await page
      .locator(`[data-user-id="${TEACHER}"]`)
      .getByRole('button', { name: 'History' })
      .click();
    const drawer = page.getByRole('dialog', { name: `History of ${TEACHER}` });
    await expect.poll(() => drawer.locator('li').count()).toBe(3);
    expect(await drawer.locator('li').allTextContents()).toEqual([
      expect.stringMatching(/Session ended grace_expired/),
      expect.stringMatching(/Disconnected client namespace disconnect/),
      expect.stringMatching(/Online new_session/),
    ]);
    await saveScreenshot(page, 'real-node-history-1280x800');

    const host = new URL(service.url).host;
    for (const url of traffic.urls) expect(new URL(url).host).toBe(host);
    expect(traffic.consoleErrors).toEqual([]);
  });

  it('shows a manager who opens it later the teachers who are already online', async () => {
    const { service, config } = await startNode();
    await teacherConnects(service, config);

    const { page } = await managerConsole(service, config);
    await teacherIn(page, 'online').waitFor(WITHIN_ONE_SECOND);
  });

  it('forces a teacher out from the page: delivered to the teacher’s app, and the cooldown shown', async () => {
    const { service, config } = await startNode();
    const { page } = await managerConsole(service, config);
    const teacher = await teacherConnects(service, config);
    await teacherIn(page, 'online').waitFor(WITHIN_ONE_SECOND);
    const told = new Promise((done) => teacher.once('force_logout', done));
    const dropped = new Promise((done) => teacher.once('disconnect', done));

    page.once('dialog', (dialog) => void dialog.accept());
    await page
      .locator(`[data-user-id="${TEACHER}"]`)
      .getByRole('button', { name: 'Force logout' })
      .click();

    expect(await told).toEqual({ user_id: TEACHER });
    expect(await dropped).toBe('io server disconnect');
    const result = page.locator(`[data-user-id="${TEACHER}"] .force-result`);
    await expect.poll(() => result.textContent()).toMatch(/^Delivered · cooldown ends /);
    await teacherIn(page, 'grace').waitFor(WITHIN_ONE_SECOND);
    await saveScreenshot(page, 'real-node-force-logout-1280x800');
  });
});
