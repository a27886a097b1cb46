// The search page in headless Chromium against a Skein fed by the OpenTelemetry
// SDK: search by service with the builder and by TraceQL, sort the results, see a
// TraceQL error at its position, and open a trace from the results.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { waitFor } from '../helpers/poll.js';
import { startSkein, type SkeinProcess } from '../helpers/skein-process.js';
import { launchBrowser, screenshot, withPage } from '../helpers/browser.js';
import { emitCheckout, emitHealth, sdkFor, type CheckoutTrace, type Sdk } from './fixtures.js';

let skein: SkeinProcess;
let browser: Browser;
let sdk: Sdk;
let checkout: CheckoutTrace;
const health: string[] = [];

before(async () => {
  skein = await startSkein();
  sdk = sdkFor(skein.otlpHttpUrl);
  const now = Date.now();
  checkout = emitCheckout(sdk, { startMs: now - 30_000, orderId: 'ord-1001' });
  for (let i = 0; i < 3; i++) health.push(emitHealth(sdk, now - 20_000 + i * 1000));
  await sdk.flush();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await sdk?.shutdown();
  await skein?.stop();
});

describe('search page', () => {
  test('search by service with the builder lists that service\'s traces', async () => {
    await withPage(browser, skein.url, async ({ page }) => {
      await page.goto('/');
      // The picker is filled from the tag values endpoint.
      const select = page.getByTestId('service-select');
      await select.locator('option', { hasText: 'inventory' }).waitFor({ state: 'attached' });
      await select.selectOption('inventory');
      await page.getByTestId('search-button').click();
      await page.waitForURL(/service=inventory/);
      const rows = page.getByTestId('results-table').locator('tbody tr');
      await assert.doesNotReject(rows.first().waitFor());
      await waitFor('three inventory traces listed', async () => (await rows.count()) === 3);
      const ids = await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-trace-id')));
      assert.deepEqual(new Set(ids), new Set(health.map((h) => h.replace(/^0+/, ''))));
      assert.equal(await page.getByTestId('scatter').locator('circle').count(), 3);
      await screenshot(page, 'search-by-service');
    });
  });

  test('search by TraceQL finds the error trace and shows per-service span counts', async () => {
    await withPage(browser, skein.url, async ({ page }) => {
      await page.goto('/search');
      await page.getByTestId('mode-traceql').click();
      const editor = page.getByTestId('traceql-input');
      await editor.fill('{ resource.service.name = "payment" && status = error }');
      await editor.press('Escape');
      await page.getByTestId('search-button').click();
      const row = page.locator(`[data-testid=results-table] tbody tr[data-trace-id="${checkout.traceId.replace(/^0+/, '')}"]`);
      // The table keeps the page's first listing (every recent trace) until the TraceQL answer replaces it.
      await waitFor('only the error trace is listed', async () => (await page.getByTestId('results-table').locator('tbody tr').count()) === 1);
      await row.waitFor();
      const text = await row.innerText();
      assert.match(text, /frontend: POST \/checkout/);
      assert.match(text, /payment 1/);
      assert.match(text, /checkout 2/);
      await screenshot(page, 'search-by-traceql');
    });
  });

  test('a TraceQL error is shown at its position before anything is sent', async () => {
    await withPage(browser, skein.url, async ({ page }) => {
      await page.goto('/search?mode=traceql');
      const editor = page.getByTestId('traceql-input');
      await editor.fill('{ span.http.route = }');
      const err = page.getByTestId('tql-error');
      await err.waitFor();
      assert.match(await err.innerText(), /parse error at line 1, col 21/);
      const mark = page.getByTestId('tql-error-mark');
      assert.equal(await mark.innerText(), '}');
      await screenshot(page, 'search-traceql-error');
    });
  });

  test('TraceQL autocomplete offers tag names, then that tag\'s values', async () => {
    await withPage(browser, skein.url, async ({ page }) => {
      await page.goto('/search?mode=traceql');
      const editor = page.getByTestId('traceql-input');
      await editor.click();
      await editor.pressSequentially('{ resource.serv');
      const list = page.getByTestId('tql-suggestions');
      await list.getByRole('option', { selected: true }).getByText('resource.service.name', { exact: true }).waitFor();
      await editor.press('Tab');
      assert.equal(await editor.inputValue(), '{ resource.service.name');
      await editor.pressSequentially(' = "pay');
      // Tab takes the highlighted suggestion, so wait until that is the one the typed prefix leaves.
      await list.getByRole('option', { selected: true }).getByText('payment', { exact: true }).waitFor();
      await screenshot(page, 'search-traceql-autocomplete');
      await editor.press('Tab');
      assert.equal(await editor.inputValue(), '{ resource.service.name = "payment"');
      await editor.pressSequentially(' }');
      await editor.press('Escape');
      await page.getByTestId('search-button').click();
      await page.locator(`[data-testid=results-table] tbody tr[data-trace-id="${checkout.traceId.replace(/^0+/, '')}"]`).waitFor();
    });
  });

  test('results sort by duration and show times in UTC when asked', async () => {
    await withPage(browser, skein.url, async ({ page }) => {
      await page.goto('/search');
      const table = page.getByTestId('results-table');
      await waitFor('all four traces listed', async () => (await table.locator('tbody tr').count()) === 4);
      await page.getByTestId('sort-select').selectOption('longest');
      await page.waitForURL(/sort=longest/);
      assert.equal(await table.locator('tbody tr').first().getAttribute('data-trace-id'), checkout.traceId.replace(/^0+/, ''), 'the 90 ms checkout is the longest');
      await page.getByRole('button', { name: 'UTC', exact: true }).click();
      assert.match(await table.locator('tbody tr td').nth(1).innerText(), /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}Z$/);
      await page.getByRole('button', { name: 'Local', exact: true }).click();
      assert.match(await table.locator('tbody tr td').nth(1).innerText(), /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}$/);
    });
  });

  test('a result opens its trace', async () => {
    await withPage(browser, skein.url, async ({ page }) => {
      await page.goto('/search?service=frontend');
      await page.getByTestId('trace-link').first().click();
      await page.waitForURL(new RegExp(`/trace/${checkout.traceId.replace(/^0+/, '')}`));
      await page.getByTestId('trace-page').waitFor();
    });
  });
});
