// Headless Chromium (Debian's, never a downloaded one) driven by playwright-core,
// for the web UI's end-to-end tests and the UI benchmark.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM_PATH = process.env['SKEIN_CHROMIUM'] ?? '/usr/bin/chromium';
export const SCREENSHOT_DIR = join(process.cwd(), 'test-results');

/**
 * Without the background-networking flags Chromium keeps calling Google's hosts,
 * which a closed network refuses. Playwright gives every launch a fresh profile
 * directory of its own.
 */
const FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
];

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: FLAGS, timeout: 60_000 });
}

export interface UiPage {
  page: Page;
  context: BrowserContext;
  /** Uncaught errors, console errors and Content-Security-Policy violations the page reported. */
  errors: string[];
  /** Requests to any origin but Skein's (the UI must make none). */
  foreignRequests: string[];
  close(): Promise<void>;
}

/** A new page at 1280×800 (the width the UI must stay readable at), watching for errors and foreign requests. */
export async function openPage(browser: Browser, baseUrl: string, opts: { colorScheme?: 'light' | 'dark'; width?: number; height?: number } = {}): Promise<UiPage> {
  const context = await browser.newContext({
    viewport: { width: opts.width ?? 1280, height: opts.height ?? 800 },
    colorScheme: opts.colorScheme ?? 'light',
    baseURL: baseUrl,
  });
  // Copy buttons write to the clipboard.
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: baseUrl });
  // Skein's Content-Security-Policy must never block anything the UI does: every page a test
  // opens reports a violation as a console error, which `errors` collects.
  await context.addInitScript(`document.addEventListener('securitypolicyviolation', (e) =>
    console.error('CSP violation: ' + e.violatedDirective + ' blocked ' + (e.blockedURI || 'inline code') + ' (' + e.sourceFile + ':' + e.lineNumber + ')'));`);
  const page = await context.newPage();
  page.setDefaultTimeout(20_000);
  const errors: string[] = [];
  const foreignRequests: string[] = [];
  const origin = new URL(baseUrl).origin;
  page.on('pageerror', (err) => errors.push(`pageerror: ${err.message}`));
  page.on('console', (msg) => {
    // A failed API call the UI shows to the user is logged by Chromium as a console error; that is expected behaviour, not a UI fault.
    if (msg.type() === 'error' && !/Failed to load resource/.test(msg.text())) errors.push(`console: ${msg.text()}`);
  });
  page.on('request', (req) => {
    const url = req.url();
    if (!url.startsWith('data:') && !url.startsWith('blob:') && new URL(url).origin !== origin) foreignRequests.push(url);
  });
  return { page, context, errors, foreignRequests, close: () => context.close() };
}

/** Runs `fn` on a new page, then asserts what every UI test expects of it: no request to another host, no error in the page. */
export async function withPage(browser: Browser, baseUrl: string, fn: (p: UiPage) => Promise<void>): Promise<void> {
  const p = await openPage(browser, baseUrl);
  try {
    await fn(p);
    assert.deepEqual(p.foreignRequests, [], 'the UI asks no host but Skein');
    assert.deepEqual(p.errors, [], 'no errors in the page');
  } finally {
    await p.close();
  }
}

/** Saves a full-page screenshot as test-results/<name>.png so a person can look at what the test saw. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const path = join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path, fullPage: false });
  return path;
}
