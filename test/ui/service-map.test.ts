// The service map in headless Chromium: a known topology sent by the
// OpenTelemetry SDK (web → cart-api → pricing, cart-api → a Redis it does not
// instrument) is drawn with exactly those edges and their figures; clicking a
// node lists its operations and links to a search for that service.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SpanKind, SpanStatusCode, ROOT_CONTEXT, trace } from '@opentelemetry/api';
import type { Browser } from 'playwright-core';
import { startSkein, type SkeinProcess } from '../helpers/skein-process.js';
import { launchBrowser, openPage, screenshot } from '../helpers/browser.js';
import { sdkFor, type Sdk } from './fixtures.js';
import { eventually } from '../helpers/poll.js';

const N = 8;
/** The pricing server fails on these requests. */
const fails = (i: number): boolean => i % 4 === 0;
const EXPECTED_EDGES = ['cart-api->pricing', 'cart-api->redis', 'user->web', 'web->cart-api'];

let skein: SkeinProcess;
let browser: Browser;
let sdk: Sdk;

/** One request: the client span of each call is the parent of the server span it reached. */
function request(i: number, t0: number): void {
  const web = sdk.tracer('web');
  const cart = sdk.tracer('cart-api');
  const pricing = sdk.tracer('pricing');
  const root = web.startSpan('GET /cart', { kind: SpanKind.SERVER, startTime: t0 }, ROOT_CONTEXT);
  const toCart = web.startSpan('GET /api/cart', { kind: SpanKind.CLIENT, startTime: t0 + 2 }, trace.setSpan(ROOT_CONTEXT, root));
  const cartServer = cart.startSpan('GET /api/cart', { kind: SpanKind.SERVER, startTime: t0 + 4 }, trace.setSpan(ROOT_CONTEXT, toCart));
  const inCart = trace.setSpan(ROOT_CONTEXT, cartServer);
  cart.startSpan('HGETALL cart', { kind: SpanKind.CLIENT, startTime: t0 + 5, attributes: { 'db.system': 'redis' } }, inCart).end(t0 + 7);
  const toPricing = cart.startSpan('pricing.Quote', { kind: SpanKind.CLIENT, startTime: t0 + 8, attributes: { 'rpc.system': 'grpc' } }, inCart);
  const quote = pricing.startSpan('pricing.Quote', { kind: SpanKind.SERVER, startTime: t0 + 9 }, trace.setSpan(ROOT_CONTEXT, toPricing));
  if (fails(i)) quote.setStatus({ code: SpanStatusCode.ERROR, message: 'no price' });
  quote.end(t0 + 29);
  toPricing.end(t0 + 30);
  cartServer.end(t0 + 40);
  toCart.end(t0 + 42);
  root.end(t0 + 45);
}

before(async () => {
  // A short ttl: the unpaired halves (the Redis client span, the root server span) become virtual edges soon.
  skein = await startSkein({ configYaml: 'connectors:\n  servicegraph:\n    store:\n      ttl: 1s\n    store_expiration_loop: 200ms\n' });
  sdk = sdkFor(skein.otlpHttpUrl);
  const now = Date.now();
  for (let i = 0; i < N; i++) request(i, now - 5000 + i * 100);
  await sdk.flush();
  // Wait for the API to hold every edge, so the page shows them on its first load.
  await eventually(
    async () => {
      const g = (await (await fetch(`${skein.url}/api/skein/service-graph`)).json()) as { edges: Array<{ client: string; server: string; requests: number }> };
      const complete = g.edges.length === EXPECTED_EDGES.length && g.edges.every((e) => e.requests === N);
      return complete ? { done: true, value: g } : { done: false, seen: g.edges };
    },
    (seen) => `service graph incomplete: ${JSON.stringify(seen)}`,
  );
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await sdk?.shutdown();
  await skein?.stop();
});

describe('service map page', () => {
  test('shows the topology\'s edges with their figures, lists a node\'s operations and links to its search', async () => {
    const { page, errors, foreignRequests, close } = await openPage(browser, skein.url);
    try {
      await page.goto('/');
      await page.getByRole('link', { name: 'Service map' }).click();
      await page.waitForURL(/\/service-map$/);
      const map = page.getByTestId('service-map');
      await map.waitFor();
      const drawn = await map.locator('g[data-edge]').evaluateAll((gs) => gs.map((g) => g.getAttribute('data-edge')));
      assert.deepEqual(drawn.sort(), EXPECTED_EDGES);
      const nodes = await map.locator('g[data-node]').evaluateAll((gs) => gs.map((g) => `${g.getAttribute('data-node')}${g.classList.contains('virtual') ? ' (virtual)' : ''}`));
      assert.deepEqual(nodes.sort(), ['cart-api', 'pricing', 'redis (virtual)', 'user (virtual)', 'web']);

      // Callers are drawn left of the services they call.
      const x = async (name: string): Promise<number> => (await map.locator(`g[data-node="${name}"]`).boundingBox())!.x;
      assert.ok((await x('user')) < (await x('web')) && (await x('web')) < (await x('cart-api')) && (await x('cart-api')) < (await x('pricing')));

      // The failing edge carries its error rate on the map and in the table.
      const pricingEdge = map.locator('g[data-edge="cart-api->pricing"]');
      assert.match(await pricingEdge.locator('text').textContent() ?? '', /25% err/);
      const row = page.locator('[data-testid=edges-table] tr[data-edge="cart-api->pricing"]');
      const cells = await row.locator('td').allInnerTexts();
      assert.equal(cells[3], String(N), 'requests');
      assert.equal(cells[5], '25%', 'error rate');
      assert.match(cells[6]!, /ms$/, 'p50');
      assert.match(cells[7]!, /ms$/, 'p99');
      const redisRow = await page.locator('[data-testid=edges-table] tr[data-edge="cart-api->redis"] td').allInnerTexts();
      assert.equal(redisRow[2], 'database');
      await screenshot(page, 'service-map');

      await map.locator('g[data-node="cart-api"]').click();
      await page.waitForURL(/node=cart-api/);
      const panel = page.getByTestId('node-panel');
      const ops = panel.getByTestId('operations-table');
      await ops.waitFor();
      const opNames = await ops.locator('tbody tr').evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-operation')));
      assert.deepEqual(opNames.sort(), ['GET /api/cart', 'HGETALL cart', 'pricing.Quote']);
      const serverOp = await ops.locator('tbody tr[data-operation="GET /api/cart"] td').allInnerTexts();
      assert.equal(serverOp[0], 'GET /api/cart server');
      assert.equal(serverOp[2], '0%');
      assert.match(await panel.innerText(), /Called by\s+web/);
      assert.match(await panel.innerText(), /Calls\s+pricing, redis|Calls\s+redis, pricing/);
      // Edges away from the chosen node fade.
      assert.ok(await map.locator('g[data-edge="user->web"]').evaluate((g) => g.classList.contains('dim')));
      await screenshot(page, 'service-map-node');

      await panel.getByTestId('search-service-link').click();
      await page.waitForURL(/\/search\?.*service=cart-api/);
      await page.getByTestId('results-table').locator('tbody tr').first().waitFor();
      assert.equal(await page.getByTestId('results-table').locator('tbody tr').count(), N);

      assert.deepEqual(foreignRequests, [], 'the UI asks no host but Skein');
      assert.deepEqual(errors, [], 'no errors in the page');
    } finally {
      await close();
    }
  });

  test('a window with no calls says so', async () => {
    const other = await startSkein();
    const { page, close } = await openPage(browser, other.url);
    try {
      await page.goto('/service-map?window=5m');
      await page.getByTestId('map-empty').waitFor();
      assert.match(await page.getByTestId('map-empty').innerText(), /No calls between services in the last 5m/);
    } finally {
      await close();
      await other.stop();
    }
  });
});
