import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { requireService } from './services.js';

/** Debian's Chromium, which `.ci/run` installs; playwright-core brings no browser of its own. */
const CHROMIUM_PATH = '/usr/bin/chromium';

/** Browser suites run where Chromium is installed, fail in CI without it, and are skipped otherwise. */
export const hasChromium = requireService('Chromium', existsSync(CHROMIUM_PATH));

/** Screenshots the browser suites save, for a person to look at (gitignored). */
const SCREENSHOT_DIR = resolve(import.meta.dirname, '../../test-results/console');

/**
 * Headless Chromium that talks to nobody but the pages it is sent to: without the background
 * networking flags it keeps trying hosts this machine cannot reach. Playwright gives every launch
 * a fresh temporary --user-data-dir of its own.
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

export const DESKTOP = { width: 1280, height: 800 } as const;
export const PHONE = { width: 390, height: 844 } as const;

/** Every URL a page asked for, WebSockets included, and what its console reported as errors. */
export interface PageTraffic {
  readonly urls: string[];
  readonly consoleErrors: string[];
}

/** A page in a context of its own, with its traffic recorded from the first request. */
export async function openPage(
  browser: Browser,
  viewport: { width: number; height: number } = DESKTOP,
): Promise<{ context: BrowserContext; page: Page; traffic: PageTraffic }> {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  const traffic: PageTraffic = { urls: [], consoleErrors: [] };
  page.on('request', (request) => traffic.urls.push(request.url()));
  page.on('websocket', (socket) => traffic.urls.push(socket.url()));
  page.on('console', (message) => {
    if (message.type() === 'error') traffic.consoleErrors.push(message.text());
  });
  page.on('pageerror', (error) => traffic.consoleErrors.push(error.message));
  return { context, page, traffic };
}

/** Saves a PNG under SCREENSHOT_DIR and returns its path. */
export async function saveScreenshot(page: Page, name: string): Promise<string> {
  await mkdir(SCREENSHOT_DIR, { recursive: true });
  const path = resolve(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path });
  return path;
}
