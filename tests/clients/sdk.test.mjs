// The official Anthropic TypeScript SDK pointed at QCC_IT_BASE_URL (qcc-run,
// or the mock directly). Run by tests/integration/t40-clients.sh.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import Anthropic from '@anthropic-ai/sdk';

const baseURL = process.env.QCC_IT_BASE_URL;
const apiKey = process.env.QCC_IT_CLIENT_TOKEN;
const upstream = process.env.QCC_IT_UPSTREAM_NAME;
const mockLog = process.env.QCC_IT_MOCK_LOG;
const model = 'claude-sonnet-4-5-20250929';
const messages = [{ role: 'user', content: 'Say hello.' }];

assert.ok(baseURL && apiKey && upstream && mockLog, 'QCC_IT_* environment not set');
const client = new Anthropic({ baseURL, apiKey, maxRetries: 0, timeout: 20000 });

function mockRequests() {
  return readFileSync(mockLog, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l))
    .filter((e) => e.event === 'request');
}

test('messages.create returns the upstream answer', async () => {
  const m = await client.messages.create({ model, max_tokens: 64, messages });
  assert.equal(m.type, 'message');
  assert.equal(m.role, 'assistant');
  assert.equal(m.model, model);
  assert.equal(m.stop_reason, 'end_turn');
  assert.match(m.content[0].text, new RegExp(`^Hello from ${upstream}\\.`));
  assert.ok(m.usage.output_tokens > 0);
});

test('messages.stream collects text and the final message', async () => {
  const stream = client.messages.stream({ model, max_tokens: 64, messages });
  let text = '';
  let deltas = 0;
  stream.on('text', (t) => { text += t; deltas += 1; });
  const final = await stream.finalMessage();
  assert.equal(final.content[0].text, text);
  assert.match(text, new RegExp(`^Hello from ${upstream}\\.`));
  assert.equal(final.stop_reason, 'end_turn');
  assert.ok(deltas > 1, 'text arrived in several deltas');
  assert.equal(final.usage.output_tokens, deltas);
  const plain = await client.messages.create({ model, max_tokens: 64, messages });
  assert.equal(plain.content[0].text, text, 'streamed text equals the non-streamed text');
});

test('messages.countTokens', async () => {
  const r = await client.messages.countTokens({ model, messages });
  assert.equal(typeof r.input_tokens, 'number');
  assert.ok(r.input_tokens > 0);
});

test('models.list', async () => {
  const page = await client.models.list();
  assert.ok(page.data.length > 0);
  assert.equal(page.data[0].type, 'model');
});

test('the upstream saw its own key on every SDK request', () => {
  const reqs = mockRequests().filter((e) => e.path.startsWith('/v1/'));
  assert.ok(reqs.length >= 5, `expected >= 5 requests in the mock log, got ${reqs.length}`);
  for (const e of reqs) {
    assert.equal(e.key_match, true, `${e.method} ${e.path}: key did not match`);
    assert.notEqual(e.auth, 'both', `${e.method} ${e.path}: two auth headers reached the upstream`);
    assert.ok(e.anthropic_version, `${e.method} ${e.path}: anthropic-version missing`);
  }
  assert.ok(reqs.some((e) => e.path === '/v1/messages/count_tokens'));
  assert.ok(reqs.some((e) => e.path.startsWith('/v1/models')));
  assert.ok(reqs.some((e) => e.stream === true));
});
