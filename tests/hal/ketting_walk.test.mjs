// Walks signpost from `/` with Ketting, a generic HAL / HAL-FORMS client that knows only the
// root URL and relation names (issue 4). Run: BASE=http://127.0.0.1:PORT node --test
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Ketting, basicAuth } from 'ketting';

const BASE = process.env.BASE ?? 'http://127.0.0.1:8080';

test('a HAL client signs up, sends a message with its form, and follows media, feedback and next', async () => {
  // Anonymous: the root offers a form to create an account.
  const anon = new Ketting(BASE);
  const root = await anon.go('/').get();
  assert.ok(root.links.has('accounts'), 'root links to accounts');
  assert.ok(root.links.has('messages'), 'root links to messages');
  const created = await root.action('create-account').submit({ FriendlyName: 'ketting walk' });
  const { sid, auth_token: token } = created.data;
  assert.match(sid, /^AC[0-9a-f]{32}$/);

  // Authenticated from here on.
  const client = new Ketting(BASE);
  client.use(basicAuth(sid, token));
  const home = client.go('/');

  // accounts → the new account is listed, embedded with its own self link.
  const accounts = await (await home.follow('accounts')).get();
  const embedded = accounts.getEmbedded();
  assert.ok(embedded.some((s) => s.data.sid === sid), 'the account is in the accounts collection');

  // messages → the caller's collection (via 303); its HAL-FORMS default template sends a message.
  const messages = await home.follow('messages');
  const list = await messages.get();
  const sent = await list.action('default').submit({
    To: '+15005550006', From: '+15005550010', Body: 'hello from ketting', MediaUrl: 'https://example.com/cat.png',
  });
  assert.equal(sent.data.status, 'queued');
  assert.equal(sent.data.num_media, '1');

  // The created message's links lead to its media and feedback.
  const message = client.go(sent.data.uri);
  const media = await (await message.follow('media')).get();
  assert.equal(media.getEmbedded().length, 1);
  assert.equal(media.getEmbedded()[0].data.content_type, 'image/png');

  const msgState = await message.get();
  const fb = await msgState.action('feedback').submit({ Outcome: 'confirmed' });
  assert.equal(fb.data.outcome, 'confirmed');
  const feedback = await (await message.follow('feedback')).get();
  assert.equal(feedback.data.outcome, 'confirmed');

  // Paging: two more messages, a page size of 1 through the list's filter form, then `next`.
  for (const body of ['two', 'three']) {
    await list.action('default').submit({ To: '+15005550006', From: '+15005550010', Body: body });
  }
  const page1 = await (await messages.refresh()).action('filter').submit({ PageSize: '1' });
  assert.equal(page1.getEmbedded().length, 1);
  assert.ok(page1.links.has('next'), 'page 1 of 3 links to next');
  const page2 = await (await page1.follow('next')).get();
  assert.equal(page2.getEmbedded().length, 1);
  assert.notEqual(page2.getEmbedded()[0].data.sid, page1.getEmbedded()[0].data.sid);
  assert.ok(page2.links.has('prev'), 'page 2 links back');
});
