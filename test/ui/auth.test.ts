// Signing in to the web UI in headless Chromium, against a Skein with bearer tokens for
// tenants a and b and one for both, fed by the OpenTelemetry SDK with each tenant's token:
// each sign-in sees only its tenants' traces and services, the tenant picker lists only
// the sign-in's tenants, the session cookie is HttpOnly and no token lands in web storage,
// a 401 brings the sign-in page and signing in again returns to the page, and the
// Content-Security-Policy blocks nothing (withPage fails on any violation).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { waitFor } from '../helpers/poll.js';
import { startSkein, type SkeinProcess } from '../helpers/skein-process.js';
import { launchBrowser, screenshot, withPage, type UiPage } from '../helpers/browser.js';
import { emitCheckout, emitHealth, sdkFor, type CheckoutTrace, type Sdk } from './fixtures.js';

const TOKEN_A = 'ui-auth-token-tenant-a-0001';
const TOKEN_B = 'ui-auth-token-tenant-b-0002';
const TOKEN_AB = 'ui-auth-token-tenants-ab-003';
const TOKENS = [TOKEN_A, TOKEN_B, TOKEN_AB];

let skein: SkeinProcess;
let browser: Browser;
let sdkA: Sdk;
let sdkB: Sdk;
/** Tenant a: frontend → checkout → payment. */
let checkout: CheckoutTrace;
/** Tenant b: inventory (one trace at the start, more as the tests send them). */
let health: string;
const tenantB: string[] = [];

const searchId = (hex: string): string => hex.replace(/^0+/, '');

before(async () => {
  skein = await startSkein({
    configYaml: `auth:
  bearer_tokens:
    - { token: ${TOKEN_A}, name: alice, tenant: a, rights: [write, read] }
    - { token: ${TOKEN_B}, name: bob, tenant: b, rights: [write, read] }
    - { token: ${TOKEN_AB}, name: ops, tenants: [a, b], rights: [read] }
`,
  });
  sdkA = sdkFor(skein.otlpHttpUrl, { authorization: `Bearer ${TOKEN_A}` });
  sdkB = sdkFor(skein.otlpHttpUrl, { authorization: `Bearer ${TOKEN_B}` });
  const now = Date.now();
  checkout = emitCheckout(sdkA, { startMs: now - 30_000, orderId: 'ord-a-1' });
  health = emitHealth(sdkB, now - 20_000);
  tenantB.push(health);
  await Promise.all([sdkA.flush(), sdkB.flush()]);
  // Stored and readable before any page looks for them.
  for (const [token, tenant, id] of [[TOKEN_A, 'a', checkout.traceId], [TOKEN_B, 'b', health]] as const) {
    await waitFor(`tenant ${tenant}'s trace stored`, async () => {
      const res = await fetch(`${skein.url}/api/v2/traces/${id}`, { headers: { authorization: `Bearer ${token}`, 'x-scope-orgid': tenant } });
      return res.status === 200;
    });
  }
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await Promise.all([sdkA?.shutdown(), sdkB?.shutdown()]);
  await skein?.stop();
});

async function signIn(page: Page, token: string): Promise<void> {
  await page.getByTestId('sign-in').waitFor();
  await page.getByTestId('sign-in-token').fill(token);
  await page.getByTestId('sign-in-button').click();
  await page.getByTestId('account').waitFor();
}

/** The trace IDs the search page lists, once it lists exactly `expected` (the table fills in as answers arrive). */
async function listedTraces(page: Page, expected: string[]): Promise<void> {
  const rows = page.getByTestId('results-table').locator('tbody tr');
  const want = expected.map(searchId).sort();
  await waitFor(`the results to list ${want.join(', ')}`, async () => {
    const ids = (await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-trace-id') ?? ''))).sort();
    return JSON.stringify(ids) === JSON.stringify(want);
  });
}

/** The service picker's options, once it has been filled from the tag-values endpoint. */
async function services(page: Page, oneOf: string): Promise<string[]> {
  const select = page.getByTestId('service-select');
  await select.locator('option', { hasText: oneOf }).waitFor({ state: 'attached' });
  return (await select.locator('option').allInnerTexts()).map((s) => s.trim()).filter((s) => s !== '' && !/^any|^all/i.test(s));
}

/** Neither the cookie's value nor any token is where a page's scripts could read it. */
async function assertNoCredentialReadable({ page, context }: UiPage): Promise<void> {
  const cookies = await context.cookies();
  const session = cookies.find((c) => c.name === 'skein_session');
  assert.ok(session, `a session cookie is set (${cookies.map((c) => c.name).join(', ')})`);
  assert.equal(session.httpOnly, true, 'the session cookie is HttpOnly');
  assert.equal(session.sameSite, 'Strict');
  assert.equal(session.path, '/');
  // A string: the test's TypeScript knows no DOM.
  const readable = (await page.evaluate(`(() => {
    const dump = (s) => JSON.stringify(Object.fromEntries(Array.from({ length: s.length }, (_, i) => [s.key(i), s.getItem(s.key(i))])));
    return { local: dump(localStorage), session: dump(sessionStorage), cookie: document.cookie };
  })()`)) as { local: string; session: string; cookie: string };
  assert.doesNotMatch(readable.cookie, /skein_session/, 'document.cookie does not show the session');
  for (const token of TOKENS) {
    for (const [where, text] of Object.entries(readable)) assert.ok(!text.includes(token), `no token in ${where}`);
  }
  assert.ok(!readable.local.includes(session.value) && !readable.session.includes(session.value), 'no session ID in web storage');
}

describe('signing in to the web UI', () => {
  test('a tenant\'s token: back to the page asked for, only that tenant\'s traces and services, no picker; a 401 brings the sign-in back', async () => {
    await withPage(browser, skein.url, async (p) => {
      const { page } = p;
      // A link to one of a's traces, opened before signing in.
      await page.goto(`/trace/${checkout.traceId}`);
      await page.getByTestId('sign-in').waitFor();
      assert.equal(await page.getByRole('navigation').count(), 0, 'no page navigation before signing in');
      await screenshot(page, 'sign-in');
      await signIn(page, TOKEN_A);
      await page.getByTestId('trace-title').waitFor();
      assert.match(await page.getByTestId('trace-title').innerText(), /frontend: POST \/checkout/);
      assert.match(await page.getByTestId('signed-in-as').innerText(), /alice · a/);
      assert.equal(await page.getByTestId('tenant-picker').count(), 0, 'one tenant: nothing to pick');

      await page.getByRole('link', { name: 'Search', exact: true }).click();
      await listedTraces(page, [checkout.traceId]);
      assert.deepEqual((await services(page, 'frontend')).sort(), ['checkout', 'frontend', 'payment']);
      // b's trace is not there to open either.
      await page.goto(`/trace/${health}`);
      await page.getByTestId('trace-error').waitFor();
      await assertNoCredentialReadable(p);

      // The session ends behind the page's back (as when it expires): the next call answers 401,
      // the sign-in page appears where the user was, and signing in again shows that page.
      const cookie = (await p.context.cookies()).find((c) => c.name === 'skein_session')!;
      const ended = await fetch(`${skein.url}/api/skein/session`, { method: 'DELETE', headers: { cookie: `skein_session=${cookie.value}` } });
      assert.equal(ended.status, 204);
      await page.getByRole('link', { name: 'Search', exact: true }).click();
      await page.getByTestId('sign-in').waitFor();
      assert.match(page.url(), /\/search$/);
      await signIn(page, TOKEN_A);
      await listedTraces(page, [checkout.traceId]);
      assert.match(page.url(), /\/search$/);
    });
  });

  test('a token for two tenants: the picker lists those two, and picking one shows its traces', async () => {
    await withPage(browser, skein.url, async (p) => {
      const { page } = p;
      await page.goto('/search');
      await signIn(page, TOKEN_AB);
      const picker = page.getByTestId('tenant-picker');
      assert.deepEqual(await picker.locator('option').allInnerTexts(), ['a', 'b']);
      assert.equal(await picker.inputValue(), 'a');
      await listedTraces(page, [checkout.traceId]);
      assert.deepEqual((await services(page, 'frontend')).sort(), ['checkout', 'frontend', 'payment']);

      await picker.selectOption('b');
      await listedTraces(page, tenantB);
      assert.deepEqual(await services(page, 'inventory'), ['inventory']);
      await screenshot(page, 'tenant-picker');

      // The live tail asks for the picked tenant too (a stream EventSource could not name it for).
      await page.getByTestId('live-tail-toggle').click();
      await page.locator('[data-testid=live-tail-state][data-state=live]').waitFor();
      const fresh = emitHealth(sdkB, Date.now());
      tenantB.push(fresh);
      await sdkB.flush();
      await page.locator(`[data-testid=live-tail-table] tr[data-trace-id="${searchId(fresh)}"]`).waitFor();
      await page.getByTestId('live-tail-toggle').click();

      await picker.selectOption('a');
      await listedTraces(page, [checkout.traceId]);
      await assertNoCredentialReadable(p);

      // The other pages ask for the picked tenant as well, and the policy lets them draw.
      await page.getByRole('link', { name: 'Service map', exact: true }).click();
      await page.locator('[data-testid=service-map], [data-testid=map-empty]').first().waitFor();
      await page.getByRole('link', { name: 'Hot paths', exact: true }).click();
      await page.getByTestId('ingest-received').locator('.value').filter({ hasText: /\/s$/ }).waitFor();
      assert.equal(await page.locator('.error-box').count(), 0, 'no page reports an error');
    });
  });

  test('a wrong token is refused with a message; signing out returns to the sign-in page', async () => {
    await withPage(browser, skein.url, async (p) => {
      const { page, context } = p;
      await page.goto('/');
      await page.getByTestId('sign-in').waitFor();
      await page.getByTestId('sign-in-token').fill('not-a-token-anyone-has-0000');
      await page.getByTestId('sign-in-button').click();
      assert.equal(await page.getByTestId('sign-in-error').innerText(), 'this token is not valid here');
      assert.equal(await page.getByTestId('sign-in-token').inputValue(), '', 'the form lets go of what was typed');
      assert.equal((await context.cookies()).length, 0, 'no cookie for a refused sign-in');

      await page.getByTestId('sign-in-token').fill(TOKEN_B);
      await page.getByTestId('sign-in-button').click();
      await listedTraces(page, tenantB);
      await page.getByTestId('sign-out').click();
      await page.getByTestId('sign-in').waitFor();
      assert.equal(await page.getByTestId('account').count(), 0);
      assert.deepEqual(
        (await context.cookies()).filter((c) => c.name === 'skein_session'),
        [],
        'signing out removes the cookie',
      );
      // And a reload stays signed out: the server ended the session too.
      await page.reload();
      await page.getByTestId('sign-in').waitFor();
    });
  });
});
