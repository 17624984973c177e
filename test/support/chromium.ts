import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { CHROMIUM, hasChromium as chromiumRequired } from './clients.js';

/**
 * Browser suites run where Debian's Chromium is installed (`.ci/run` installs it; playwright-core
 * brings no browser of its own), fail in CI without it, and are skipped otherwise.
 */
export const hasChromium = chromiumRequired();

/** Screenshots the browser suites save, for a person to look at (gitignored). */
const SCREENSHOT_DIR = resolve(import.meta.dirname, '../../test-results/console');

/**
 * Headless Chromium that talks to nobody but the pages it is sent to: without the background
 * networking flags it keeps trying hosts this machine cannot reach. Playwright gives every launch
 * a fresh temporary --user-data-dir of its own.
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
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
