// The browser walk (issue 5): Debian's chromium, driven by playwright-core, uses signpost's
// HTML pages the way a person would. It knows one URL, the base; everything else is reached
// by clicking links (found by their rel name or text) and submitting the forms the pages offer.
//
//   node browser_walk.mjs BASE_URL OUT_DIR
//
// Each step is a named check. The walk fails on any console error, page error or HTTP
// response >= 500, except for the console lines Chromium writes for the 4xx pages a step
// expects (it logs "Failed to load resource" for every document answered with an error).
// It saves screenshots into OUT_DIR and prints their paths, then the summary line
// `browser: N passed, M failed`. Exit status 0 only if every check passed.
import { chromium } from 'playwright-core';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const [base, outArg] = process.argv.slice(2);
if (!base || !outArg) {
  console.error('usage: node browser_walk.mjs BASE_URL OUT_DIR');
  process.exit(2);
}
const out = resolve(outArg);
mkdirSync(out, { recursive: true });
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

const results = [];      // { name, ok, detail }
const problems = [];     // console errors, page errors, 5xx responses not expected by a step
const screenshots = [];
let expectedStatuses = []; // 4xx statuses the current step expects Chromium to log

function problem(what) {
  problems.push(what);
}

// ---- the browser ----------------------------------------------------------------------------
const profile = mkdtempSync(join(tmpdir(), 'signpost-chromium-'));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: CHROMIUM,
  headless: true,
  args: ARGS,
  viewport: { width: 1280, height: 900 },
  timeout: 60_000,
});
context.setDefaultTimeout(15_000);
const page = context.pages()[0] ?? (await context.newPage());

page.on('console', (msg) => {
  if (msg.type() !== 'error') return;
  const text = msg.text();
  const m = text.match(/status of (\d{3})/);
  if (m && expectedStatuses.includes(Number(m[1]))) return;
  problem(`console error on ${page.url()}: ${text} (${msg.location().url})`);
});
page.on('pageerror', (err) => problem(`page error on ${page.url()}: ${err.message}`));
page.on('response', (res) => {
  if (res.status() >= 500) problem(`HTTP ${res.status()} for ${res.request().method()} ${res.url()}`);
});

// ---- helpers --------------------------------------------------------------------------------
function check(cond, message) {
  if (!cond) throw new Error(message);
}

/** Runs `action` (a click or a submit) and waits for the document it leads to: returns the
 * final (non-redirect) main-frame response, once that page has loaded. */
async function navigate(action) {
  const response = page.waitForResponse(
    (r) => r.request().isNavigationRequest() && r.frame() === page.mainFrame() && !(r.status() >= 300 && r.status() < 400),
  );
  const loaded = page.waitForEvent('load');
  const [res] = await Promise.all([response, loaded, action()]);
  return res;
}

/** Clicks the link with relation `rel` in the page's Links section. */
function relLink(rel) {
  return page.locator(`section[aria-labelledby="links"] a[rel="${rel}"]`).first();
}

/** The value cell of property `name` in the Properties table. */
function prop(name) {
  return page.locator('section[aria-labelledby="props"] tr').filter({ has: page.locator(`th:text-is("${name}")`) }).locator('td');
}

/** A form offered on the page, by its action name (`data-action`). */
function form(name) {
  return page.locator(`form[data-action="${name}"]`).first();
}

async function shot(name, opts = {}) {
  const path = join(out, `${name}.png`);
  await page.screenshot({ path, fullPage: opts.fullPage ?? true });
  screenshots.push(path);
  return path;
}

/** Every page: a header with the docs link, and no horizontal scrolling at this width. */
async function commonChrome() {
  check((await page.locator('header a[href="/docs"]').count()) === 1, `no header link to /docs on ${page.url()}`);
  const { scroll, width } = await page.evaluate(() => ({
    scroll: document.documentElement.scrollWidth,
    width: document.documentElement.clientWidth,
  }));
  check(scroll <= width + 1, `page scrolls sideways at ${width}px (${scroll}px wide): ${page.url()}`);
  // Every input is labelled (a <label> around it or aria-label); hidden inputs excepted.
  const unlabelled = await page.evaluate(() =>
    [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
      .filter((el) => !el.closest('label') && !el.getAttribute('aria-label') && !(el.id && document.querySelector(`label[for="${el.id}"]`)))
      .map((el) => el.name),
  );
  check(unlabelled.length === 0, `inputs without a label: ${unlabelled.join(', ')}`);
}

let stop = false;
async function step(name, fn, { expect = [] } = {}) {
  if (stop) {
    results.push({ name, ok: false, detail: 'not run (an earlier step failed)' });
    return;
  }
  expectedStatuses = expect;
  const before = problems.length;
  try {
    await fn();
    check(problems.length === before, problems.slice(before).join('; '));
    results.push({ name, ok: true });
    console.log(`ok   ${name}`);
  } catch (e) {
    results.push({ name, ok: false, detail: e.message.split('\n')[0] });
    console.log(`FAIL ${name}: ${e.message.split('\n')[0]}`);
    try {
      console.log(`     at ${page.url()}`);
      await shot(`failure-${results.length}`);
    } catch {}
    stop = true;
  } finally {
    expectedStatuses = [];
  }
}

// ---- the walk -------------------------------------------------------------------------------
const state = {};

await step('open / : the root page links accounts, sessions, messages', async () => {
  const res = await navigate(() => page.goto(base));
  check(res.status() === 200, `root answered ${res.status()}`);
  check((await res.headerValue('content-type')).startsWith('text/html'), 'root is not HTML');
  for (const rel of ['accounts', 'sessions', 'messages', 'service-doc']) {
    check((await relLink(rel).count()) === 1, `no ${rel} link on the root page`);
    // The rel name is shown next to the link.
    check((await page.locator(`li:has(a[rel="${rel}"]) .rel`).first().innerText()).trim() === rel, `rel name ${rel} not shown`);
  }
  await commonChrome();
  console.log(`     screenshot: ${await shot('root')}`);
});

await step('follow accounts: a 401 page offering sign-in and sign-up', async () => {
  const res = await navigate(() => relLink('accounts').click());
  check(res.status() === 401, `accounts answered ${res.status()} to an anonymous browser`);
  check(/sign in/i.test(await page.locator('h1').innerText()), 'the 401 page does not say to sign in');
  check((await form('sign-in').count()) === 1, 'no sign-in form on the 401 page');
  check((await form('create-account').count()) === 1, 'no create-account form on the 401 page');
  check((await page.locator('a[href^="/docs/errors/20003"]').count()) >= 1, 'no more_info link to /docs/errors/20003');
  await commonChrome();
}, { expect: [401] });

await step('create an account: the auth token is shown once, with a warning', async () => {
  const f = form('create-account');
  await f.getByLabel('Friendly name').fill('Browser walker');
  const res = await navigate(() => f.getByRole('button').click());
  check(res.status() === 201, `account creation answered ${res.status()}`);
  check(/only time/i.test(await page.locator('.notice').innerText()), 'no once-only warning');
  state.sid = (await prop('sid').innerText()).trim();
  state.token = (await prop('auth_token').innerText()).trim();
  check(/^AC[0-9a-f]{32}$/.test(state.sid), `sid looks wrong: ${state.sid}`);
  check(state.token.length >= 32 && !/\s/.test(state.token), `auth token looks wrong: ${state.token}`);
  await commonChrome();
  console.log(`     screenshot: ${await shot('account-created')}`);
});

await step('sign in with the shown token (AccountSid pre-filled)', async () => {
  const f = form('sign-in');
  const prefilled = await f.getByLabel('Account SID').inputValue();
  check(prefilled === state.sid, `AccountSid pre-filled with "${prefilled}"`);
  await f.getByLabel('Auth token').fill(state.token);
  const res = await navigate(() => f.getByRole('button').click());
  check(res.status() === 200, `sign-in ended on ${res.status()}`);
  check((await page.locator('header').innerText()).includes(state.sid), 'header does not say who is signed in');
  const cookies = await context.cookies(base);
  const c = cookies.find((c) => c.name === 'signpost_session');
  check(c && c.httpOnly && c.sameSite === 'Strict' && c.path === '/', `session cookie: ${JSON.stringify(c)}`);
  check((await page.evaluate(() => document.cookie)).indexOf('signpost_session') < 0, 'cookie readable from script');
  await commonChrome();
});

await step('go to messages from the root', async () => {
  await navigate(() => page.locator('header a.brand').click());
  check((await relLink('account').count()) === 1, 'signed-in root has no account link');
  const res = await navigate(() => relLink('messages').click());
  check(res.status() === 200, `messages answered ${res.status()}`);
  check((await form('default').count()) === 1, 'no send form on the messages page');
  await commonChrome();
  console.log(`     screenshot: ${await shot('messages')}`);
});

await step('send a message (To, From, Body, MediaUrl)', async () => {
  const f = form('default');
  await f.getByLabel(/^To\b/).fill('+15005550006');
  await f.getByLabel(/^From\b/).fill('+15017122661');
  await f.getByLabel('Body').fill('Hello from a real browser <b>not bold</b>');
  await f.getByLabel('Media URL').fill('https://example.com/cat.png');
  const res = await navigate(() => f.getByRole('button', { name: 'Send a message' }).click());
  check(res.status() === 200, `send ended on ${res.status()}`);
  check(/^Message SM/.test(await page.locator('h1').innerText()), 'not on a message page after sending');
  state.message = page.url();
  // Auto-escaped: the markup in the body is text, not HTML.
  check((await prop('body').innerText()).includes('<b>not bold</b>'), 'body not shown as text');
  await commonChrome();
});

await step('reload until the message is delivered', async () => {
  const deadline = Date.now() + 20_000;
  let status = '';
  for (;;) {
    status = (await prop('status').innerText()).trim();
    if (status === 'delivered' || Date.now() > deadline) break;
    await page.waitForTimeout(250);
    await navigate(() => page.reload());
  }
  check(status === 'delivered', `status is still ${status}`);
  check((await prop('status').locator('.status-delivered').count()) === 1, 'no delivered badge');
  // Readable timestamps: a <time> with a machine-readable datetime.
  const t = prop('date_created').locator('time');
  check((await t.count()) === 1, 'date_created is not a <time>');
  check(/^\d{4}-\d\d-\d\dT/.test(await t.getAttribute('datetime')), 'time has no ISO datetime');
  await commonChrome();
  console.log(`     screenshot: ${await shot('message')}`);
});

await step('the message page at phone width (390px)', async () => {
  await page.setViewportSize({ width: 390, height: 844 });
  await navigate(() => page.reload());
  await commonChrome();
  console.log(`     screenshot: ${await shot('message-phone')}`);
  await page.setViewportSize({ width: 1280, height: 900 });
  await navigate(() => page.reload());
});

await step('follow media: the list and the media item', async () => {
  let res = await navigate(() => relLink('media').click());
  check(res.status() === 200, `media list answered ${res.status()}`);
  const items = page.locator('section[aria-labelledby="items"] tbody a');
  check((await items.count()) === 1, `media list has ${await items.count()} items`);
  res = await navigate(() => items.first().click());
  check(res.status() === 200, `media answered ${res.status()}`);
  check((await prop('content_type').innerText()).trim() === 'image/png', 'media content type');
  check((await relLink('enclosure').getAttribute('href')) === 'https://example.com/cat.png', 'no enclosure link');
  res = await navigate(() => relLink('message').click());
  check(page.url() === state.message, `message link went to ${page.url()}`);
  await commonChrome();
});

await step('leave feedback, then follow the feedback link', async () => {
  const f = form('feedback');
  await f.getByLabel('Outcome').selectOption('confirmed');
  let res = await navigate(() => f.getByRole('button').click());
  check(res.status() === 200, `feedback ended on ${res.status()}`);
  check((await prop('outcome').innerText()).trim() === 'confirmed', 'outcome not shown');
  await navigate(() => relLink('message').click());
  res = await navigate(() => relLink('feedback').click());
  check(res.status() === 200, `feedback link answered ${res.status()}`);
  check((await prop('outcome').innerText()).trim() === 'confirmed', 'outcome not shown via the link');
  await navigate(() => relLink('message').click());
  await commonChrome();
});

await step('redact the message', async () => {
  const f = form('redact');
  const res = await navigate(() => f.getByRole('button').click());
  check(res.status() === 200, `redact ended on ${res.status()}`);
  check(page.url() === state.message, `redact ended on ${page.url()}`);
  check((await prop('body').innerText()).trim() === '', 'body still shown');
  check((await form('redact').count()) === 0, 'redact offered again after redaction');
  await commonChrome();
});

await step('schedule a message (SendAt from the date-time input) and cancel it', async () => {
  await navigate(() => relLink('up').click());
  const f = form('default');
  await f.getByLabel(/^To\b/).fill('+15005550006');
  await f.getByLabel(/^From\b/).fill('+15017122661');
  await f.getByLabel('Body').fill('Later, maybe');
  // The date-time input sends minutes only (YYYY-MM-DDTHH:MM); the label says it is UTC.
  const inAnHour = new Date(Date.now() + 3_600_000).toISOString().slice(0, 16);
  await f.getByLabel(/^Send at/).fill(inAnHour);
  await f.getByLabel('Schedule type').selectOption('fixed');
  let res = await navigate(() => f.getByRole('button', { name: 'Send a message' }).click());
  check(res.status() === 200, `scheduling ended on ${res.status()}`);
  check((await prop('status').innerText()).trim() === 'scheduled', `status ${await prop('status').innerText()}`);
  res = await navigate(() => form('cancel').getByRole('button').click());
  check(res.status() === 200, `cancel ended on ${res.status()}`);
  check((await prop('status').locator('.status-canceled').count()) === 1, 'no canceled badge');
  check((await form('cancel').count()) === 0, 'cancel still offered once canceled');
  // The list shows both messages, each with its status badge.
  await navigate(() => relLink('up').click());
  const badges = await page.locator('section[aria-labelledby="items"] tbody .status').allInnerTexts();
  check(badges.sort().join(',') === 'canceled,delivered', `list badges: ${badges}`);
  await commonChrome();
  console.log(`     screenshot: ${await shot('messages-list')}`);
});

await step('the header Docs link and an error code page', async () => {
  let res = await navigate(() => page.locator('header a[href="/docs"]').click());
  check(res.status() === 200, `/docs answered ${res.status()}`);
  await commonChrome();
  await navigate(() => page.goBack());
});

await step('sign out', async () => {
  let res = await navigate(() => page.locator('header a[rel="session"]').click());
  check(res.status() === 200, `session page answered ${res.status()}`);
  res = await navigate(() => form('sign-out').getByRole('button').click());
  check(res.status() === 200, `sign-out ended on ${res.status()}`);
  check(/not signed in/i.test(await page.locator('header').innerText()), 'header still says signed in');
  const c = (await context.cookies(base)).find((c) => c.name === 'signpost_session');
  check(!c, 'session cookie still set after sign-out');
  await commonChrome();
});

await step('a protected page now asks to sign in (401 with sign-in form and link)', async () => {
  const res = await navigate(() => relLink('messages').click());
  check(res.status() === 401, `messages answered ${res.status()} after sign-out`);
  check((await form('sign-in').count()) === 1, 'no sign-in form on the 401 page');
  check((await page.locator('main a[rel="sessions"]').count()) >= 1, 'no sign-in link on the 401 page');
  await commonChrome();
  console.log(`     screenshot: ${await shot('error-401')}`);
  // The old message page is no longer reachable either.
  const again = await navigate(() => page.goto(state.message));
  check(again.status() === 401, `the message answered ${again.status()} after sign-out`);
}, { expect: [401] });

await step('more_info leads to the error code page', async () => {
  const res = await navigate(() => page.locator('main a[href="/docs/errors/20003"]').first().click());
  check(res.status() === 200, `/docs/errors/20003 answered ${res.status()}`);
  check(/20003/.test(await page.locator('main').innerText()), 'the page does not name 20003');
  await commonChrome();
});

await context.close();
rmSync(profile, { recursive: true, force: true });

// ---- summary --------------------------------------------------------------------------------
const passed = results.filter((r) => r.ok).length;
const failed = results.length - passed;
for (const r of results.filter((r) => !r.ok)) console.log(`failed: ${r.name}: ${r.detail}`);
console.log('screenshots:');
for (const s of screenshots) console.log(`  ${s}`);
console.log(`browser: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
