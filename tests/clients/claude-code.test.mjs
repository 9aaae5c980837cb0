// The Claude Code CLI (`claude -p`) pointed at QCC_IT_BASE_URL with a temp
// HOME and nonessential traffic off. Run by tests/integration/t40-clients.sh.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const claude = join(here, 'node_modules', '.bin', 'claude');
const baseURL = process.env.QCC_IT_BASE_URL;
const apiKey = process.env.QCC_IT_CLIENT_TOKEN;
const upstream = process.env.QCC_IT_UPSTREAM_NAME;
const mockLog = process.env.QCC_IT_MOCK_LOG;

function run(cmd, args, opts, ms) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { ...opts, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), ms);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

test('claude -p "say hi" completes through the base URL', { timeout: 70000 }, async () => {
  assert.ok(baseURL && apiKey && upstream && mockLog, 'QCC_IT_* environment not set');
  const home = mkdtempSync(join(tmpdir(), 'qcc-cc-home-'));
  try {
    const env = {
      PATH: process.env.PATH,
      HOME: home,
      TMPDIR: home,
      ANTHROPIC_BASE_URL: baseURL,
      ANTHROPIC_API_KEY: apiKey,
      CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
      DISABLE_AUTOUPDATER: '1',
      DISABLE_TELEMETRY: '1',
      DISABLE_ERROR_REPORTING: '1',
    };
    const r = await run(claude, ['-p', 'say hi'], { env, cwd: home }, 60000);
    assert.equal(r.signal, null, `claude timed out; stderr: ${r.stderr.slice(0, 500)}`);
    assert.equal(r.code, 0, `claude exited ${r.code}; stderr: ${r.stderr.slice(0, 500)}`);
    assert.match(r.stdout, new RegExp(`Hello from ${upstream}\\.`));
    const reqs = readFileSync(mockLog, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l))
      .filter((e) => e.event === 'request');
    const msgs = reqs.filter((e) => e.path.startsWith('/v1/messages') && e.method === 'POST');
    assert.ok(msgs.length >= 1, 'the mock saw no /v1/messages request');
    assert.ok(msgs.every((e) => e.status === 200), 'a /v1/messages request failed at the mock');
    assert.ok(msgs.every((e) => e.key_match === true), 'the mock did not see its own key');
    const other = reqs.filter((e) => !e.path.startsWith('/v1/messages')).map((e) => `${e.method} ${e.path}`);
    if (other.length > 0) console.log(`# claude code also called: ${other.join(', ')}`);
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
});
