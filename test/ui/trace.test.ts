// The trace view in headless Chromium against a Skein fed by the OpenTelemetry
// SDK: expand and collapse, open a span and read its attributes, follow a span
// link to the linked trace, find in trace, keyboard navigation, deep links, the
// logs link, statistics, OTLP/JSON download, and a 20,000-span trace that opens
// and scrolls.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { waitFor } from '../helpers/poll.js';
import { startSkein, type SkeinProcess } from '../helpers/skein-process.js';
import { launchBrowser, screenshot, withPage } from '../helpers/browser.js';
import { emitCheckout, emitLargeTrace, sdkFor, type CheckoutTrace, type Sdk } from './fixtures.js';

const LARGE = 20_000;
let skein: SkeinProcess;
let browser: Browser;
let sdk: Sdk;
let first: CheckoutTrace;
let second: CheckoutTrace;
let large: { traceId: string; lastSpanName: string };

before(async () => {
  skein = await startSkein({
    configYaml: [
      'limits:',
      '  max_bytes_per_trace: 64MiB',
      'ui:',
      '  logs_url_template: "http://logs.example/explore?trace=${traceId}&span=${spanId}&service=${service}&from=${startMs}&to=${endMs}"',
      '',
    ].join('\n'),
  });
  sdk = sdkFor(skein.otlpHttpUrl);
  const now = Date.now();
  first = emitCheckout(sdk, { startMs: now - 60_000, orderId: 'ord-1' });
  second = emitCheckout(sdk, { startMs: now - 30_000, orderId: 'ord-2', linkTo: { traceId: first.traceId, spanId: first.paymentSpanId } });
  large = emitLargeTrace(sdk, now - 20_000, LARGE);
  await sdk.flush();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await sdk?.shutdown();
  await skein?.stop();
});

async function openTrace(page: Page, traceId: string, query = ''): Promise<void> {
  // Spans reach the head asynchronously after the SDK's export returns; reload until the whole trace is there.
  const res = await page.request.get(`/api/v2/traces/${traceId}`);
  assert.equal(res.status(), 200, `trace ${traceId} is stored`);
  await page.goto(`/trace/${traceId}${query}`);
  await page.getByTestId('trace-page').waitFor();
}

const row = (page: Page, spanId: string) => page.locator(`[data-testid=span-row][data-span-id="${spanId}"]`);
const rowNamed = (page: Page, name: string) => page.getByTestId('span-row').filter({ hasText: name });

describe('trace view', () => {
  test('shows the tree; a span collapses and expands', async () => {
    await withPage(browser, skein.url, async ({ page }) => {
      await openTrace(page, second.traceId);
      assert.match(await page.getByTestId('trace-title').innerText(), /frontend: POST \/checkout/);
      assert.equal(await page.getByTestId('span-row').count(), 4);
      const root = row(page, second.rootSpanId);
      await root.getByTestId('span-toggle').click();
      await waitFor('only the root is left', async () => (await page.getByTestId('span-row').count()) === 1);
      assert.match(await root.innerText(), /\+3/, 'a collapsed span says how many spans it hides');
      await screenshot(page, 'trace-collapsed');
      await root.getByTestId('span-toggle').click();
      await waitFor('all four spans are back', async () => (await page.getByTestId('span-row').count()) === 4);
      // The error span is marked.
      assert.match(await row(page, second.paymentSpanId).innerText(), /!/);
    });
  });

  test('opening a span shows its attributes, events and status, and puts it in the URL', async () => {
    await withPage(browser, skein.url, async ({ page }) => {
      await openTrace(page, second.traceId);
      await rowNamed(page, 'payment.charge').click();
      const detail = page.getByTestId('span-detail');
      await detail.waitFor();
      assert.equal(await detail.getByTestId('span-detail-name').innerText(), 'payment.charge');
      const provider = detail.getByTestId('span-attributes').locator('tr[data-attr="payment.provider"] td').nth(1);
      assert.equal(await provider.innerText(), 'acme-pay');
      assert.equal(await detail.getByTestId('span-status').innerText(), 'error: card declined');
      assert.match(await detail.getByTestId('span-event').innerText(), /card\.declined[\s\S]*insufficient_funds/);
      assert.match(await detail.getByTestId('span-resource').innerText(), /service\.name\s+payment/);
      await page.waitForURL(new RegExp(`\\?span=${second.paymentSpanId}$`));
      // The logs link carries the trace and span IDs and the span's service.
      const href = (await detail.getByTestId('span-logs-link').getAttribute('href')) ?? '';
      assert.match(href, new RegExp(`^http://logs\\.example/explore\\?trace=${second.traceId}&span=${second.paymentSpanId}&service=payment&from=\\d+&to=\\d+$`));
      assert.match((await page.getByTestId('trace-logs-link').getAttribute('href')) ?? '', new RegExp(`trace=${second.traceId}&span=&service=frontend`));
      await screenshot(page, 'trace-span-detail');
    });
  });

  test('a span link opens the linked trace at the linked span', async () => {
    await withPage(browser, skein.url, async ({ page }) => {
      await openTrace(page, second.traceId, `?span=${second.paymentSpanId}`);
      const link = page.getByTestId('span-detail').getByTestId('span-link');
      assert.match(await link.innerText(), new RegExp(first.traceId));
      await link.click();
      await page.waitForURL(new RegExp(`/trace/${first.traceId}\\?span=${first.paymentSpanId}$`));
      await page.locator(`[data-testid=trace-page][data-trace-id="${first.traceId}"]`).waitFor();
      assert.match(await page.getByTestId('span-id').innerText(), new RegExp(first.paymentSpanId));
      assert.equal(await row(page, first.paymentSpanId).getAttribute('aria-selected'), 'true');
      // Back returns to the first trace.
      await page.goBack();
      await page.locator(`[data-testid=trace-page][data-trace-id="${second.traceId}"]`).waitFor();
      await screenshot(page, 'trace-followed-link');
    });
  });

  test('find in trace by name, attribute value and span ID, with next and previous', async () => {
    await withPage(browser, skein.url, async ({ page }) => {
      await openTrace(page, second.traceId);
      const input = page.getByTestId('find-input');
      await input.fill('acme-pay');
      await waitFor('one match for the attribute value', async () => (await page.getByTestId('find-count').innerText()) === '1 / 1');
      assert.equal(await row(page, second.paymentSpanId).getAttribute('aria-selected'), 'true');
      await input.fill(second.dbSpanId);
      await waitFor('one match for the span ID', async () => (await page.getByTestId('find-count').innerText()) === '1 / 1');
      assert.equal(await row(page, second.dbSpanId).getAttribute('aria-selected'), 'true');
      // "checkout" is in a span name and route (the root), a span name, and the service of a third span.
      await input.fill('checkout');
      await waitFor('three matches', async () => /^1 \/ 3$/.test(await page.getByTestId('find-count').innerText()));
      // The count and the selected row render separately, and the row may first have to be
      // scrolled into the virtualised list: wait for the selection rather than read it at once.
      const selected = async (name: RegExp) => {
        const rows = await page.locator('[data-testid=span-row][aria-selected=true]').allInnerTexts();
        return rows.length === 1 && name.test(rows[0]!);
      };
      await waitFor('the root is selected', () => selected(/POST \/checkout/));
      await page.getByTestId('find-next').click();
      assert.equal(await page.getByTestId('find-count').innerText(), '2 / 3');
      await waitFor('next selects checkout.place_order', () => selected(/checkout\.place_order/));
      await page.getByTestId('find-prev').click();
      await page.getByTestId('find-prev').click();
      assert.equal(await page.getByTestId('find-count').innerText(), '3 / 3', 'previous wraps around');
      await waitFor('previous wraps around to SELECT orders', () => selected(/SELECT orders/));
      await input.fill('no-such-thing');
      await waitFor('no match', async () => (await page.getByTestId('find-count').innerText()) === 'no match');
      await screenshot(page, 'trace-find');
    });
  });

  test('keyboard: arrows move and collapse, Enter opens the span', async () => {
    await withPage(browser, skein.url, async ({ page }) => {
      await openTrace(page, second.traceId);
      const rows = page.getByTestId('waterfall-rows');
      await rows.focus();
      await page.keyboard.press('ArrowDown'); // root
      await page.keyboard.press('ArrowLeft'); // collapse root
      await waitFor('left collapses', async () => (await page.getByTestId('span-row').count()) === 1);
      await page.keyboard.press('ArrowRight'); // expand
      await waitFor('right expands', async () => (await page.getByTestId('span-row').count()) === 4);
      await page.keyboard.press('ArrowDown');
      await page.keyboard.press('Enter');
      await page.getByTestId('span-detail').waitFor();
      assert.equal(await page.getByTestId('span-detail-name').innerText(), 'checkout.place_order');
      await page.keyboard.press('Escape');
      await page.getByTestId('span-detail').waitFor({ state: 'detached' });
    });
  });

  test('statistics per service and operation, and the OTLP/JSON download', async () => {
    await withPage(browser, skein.url, async ({ page }) => {
      await openTrace(page, second.traceId);
      await page.getByTestId('stats-tab').click();
      const stats = page.getByTestId('trace-stats');
      await stats.waitFor();
      assert.equal(await stats.getByTestId('stats-row').count(), 4);
      assert.match(await stats.innerText(), /payment\s+payment\.charge\s+1\s+1\s+48\.0ms/);
      await screenshot(page, 'trace-stats');
      const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('download-json').click()]);
      const file = await download.path();
      const json = JSON.parse(readFileSync(file, 'utf8')) as { resourceSpans: Array<{ scopeSpans: Array<{ spans: Array<{ traceId: string; spanId: string; kind: number }> }> }> };
      const spans = json.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans));
      assert.equal(spans.length, 4);
      assert.ok(spans.every((s) => s.traceId === second.traceId), 'hex trace IDs, as OTLP/JSON has them');
      // What was downloaded is accepted back by OTLP/HTTP JSON.
      const res = await fetch(`${skein.otlpHttpUrl}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: readFileSync(file) });
      assert.equal(res.status, 200, await res.text());
    });
  });

  test('dark theme is remembered', async () => {
    await withPage(browser, skein.url, async ({ page }) => {
      await openTrace(page, second.traceId, `?span=${second.paymentSpanId}`);
      const theme = () => page.evaluate('document.documentElement.dataset.theme');
      const before = await theme();
      await page.getByTestId('theme-toggle').click();
      const after = await theme();
      assert.notEqual(after, before);
      await page.reload();
      await page.getByTestId('trace-page').waitFor();
      assert.equal(await theme(), after);
      if (after === 'dark') await screenshot(page, 'trace-dark');
    });
  });

  test(`a ${LARGE.toLocaleString('en')}-span trace opens, draws only what is on screen, and scrolls to its end`, async () => {
    await withPage(browser, skein.url, async ({ page }) => {
      await waitFor(`all ${LARGE} spans are stored`, async () => {
        const res = await page.request.get(`/api/v2/traces/${large.traceId}`);
        if (res.status() !== 200) return false;
        const body = (await res.json()) as { trace: { resourceSpans?: Array<{ scopeSpans: Array<{ spans: unknown[] }> }> } };
        return (body.trace.resourceSpans ?? []).reduce((n, r) => n + r.scopeSpans.reduce((m, s) => m + s.spans.length, 0), 0) === LARGE;
      }, 60_000);
      await page.goto(`/trace/${large.traceId}`);
      await page.getByTestId('trace-span-count').waitFor({ timeout: 60_000 });
      assert.equal(await page.getByTestId('trace-span-count').innerText(), `${LARGE.toLocaleString('en')} spans`);
      const drawn = await page.getByTestId('span-row').count();
      assert.ok(drawn > 10 && drawn < 200, `rows are virtualised (${drawn} in the DOM)`);
      const rows = page.getByTestId('waterfall-rows');
      for (const frac of [0.25, 0.5, 0.75, 1]) {
        await rows.evaluate((el, f) => {
          el.scrollTop = (el.scrollHeight - el.clientHeight) * f;
        }, frac);
      }
      await rowNamed(page, large.lastSpanName).waitFor();
      assert.ok((await page.getByTestId('span-row').count()) < 200, 'still virtualised after scrolling');
      await screenshot(page, 'trace-20k-scrolled');
      // Find still works across every span, and jumps to a far one.
      await page.getByTestId('find-input').fill('pricing.item 3-5');
      await waitFor('a match in the large trace', async () => /^1 \/ \d+$/.test(await page.getByTestId('find-count').innerText()));
      await page.locator('[data-testid=span-row][aria-selected=true]').filter({ hasText: 'pricing.item 3-5' }).waitFor();
    });
  });
});
