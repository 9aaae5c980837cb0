// One `messages.stream` call with the official SDK (no SDK retries), for
// tests/integration/t77-storms-clients.sh: prints one JSON line
// {ok, text, stop_reason, error, events} and always exits 0, so the shell
// test decides what counts. QCC_IT_BASE_URL, QCC_IT_CLIENT_TOKEN as in
// sdk.test.mjs.
import Anthropic from '@anthropic-ai/sdk';

const client = new Anthropic({
  baseURL: process.env.QCC_IT_BASE_URL,
  apiKey: process.env.QCC_IT_CLIENT_TOKEN,
  maxRetries: 0,
  timeout: 20000,
});
const out = { ok: false, text: '', stop_reason: null, error: null, events: [] };
try {
  const stream = client.messages.stream({
    model: 'claude-sonnet-4-5-20250929',
    max_tokens: 64,
    messages: [{ role: 'user', content: 'Say hello.' }],
  });
  stream.on('streamEvent', (e) => { out.events.push(e.type); });
  stream.on('text', (t) => { out.text += t; });
  const final = await stream.finalMessage();
  out.ok = true;
  out.stop_reason = final.stop_reason;
} catch (e) {
  out.error = `${e?.constructor?.name ?? 'Error'}: ${String(e?.message ?? e).slice(0, 300)}`;
}
console.log(JSON.stringify(out));
