// The status page in a real browser (issue 15): Debian's chromium, headless,
// driven by puppeteer-core, against the qcc-run and mock upstreams that
// tests/integration/t93-statuspage-browser.sh started. Prints one line per
// check, "PASS name" or "FAIL name: detail", for the shell test to count.
//
// Environment: QCC_IT_LOGIN_URL (from `qccc dashboard --no-open`),
// QCC_IT_BASE_URL (qcc-run), QCC_IT_CLIENT_TOKEN, QCC_IT_MOCK_A (the mock
// that gets the fault), QCC_IT_QCCC + QCC_IT_STATE (to check with qccc),
// QCC_IT_ARTIFACTS (screenshots), QCC_IT_CHROMIUM (the browser).
import { execFileSync } from "node:child_process";
import puppeteer from "puppeteer-core";

const env = (k) => {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is not set`);
  return v;
};
let failed = 0;
const check = (name, ok, detail = "") => {
  if (ok) console.log(`PASS ${name}`);
  else {
    failed++;
    console.log(`FAIL ${name}: ${detail}`);
  }
};

const qcccEndpoint = (id) => {
  const out = execFileSync(env("QCC_IT_QCCC"), ["endpoint", "list", "--json", "--state-dir", env("QCC_IT_STATE")]);
  return JSON.parse(out).endpoints.find((e) => e.id === id);
};

const browser = await puppeteer.launch({
  executablePath: env("QCC_IT_CHROMIUM"),
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"],
});
try {
  const page = await browser.newPage();
  await page.setViewport({ width: 1280, height: 900 });
  const problems = [];
  page.on("console", (m) => { if (m.type() === "error") problems.push(m.text()); });
  page.on("pageerror", (e) => problems.push(String(e)));

  const resp = await page.goto(env("QCC_IT_LOGIN_URL"), { waitUntil: "domcontentloaded" });
  check("the login link lands on /qcc/", new URL(page.url()).pathname === "/qcc/" && resp.status() === 200,
    `${page.url()} ${resp.status()}`);
  try {
    await page.waitForSelector("body[data-ready='1']", { timeout: 10000 });
  } catch (err) {
    throw new Error(`the page did not render its first snapshot: ${problems.join(" | ")}`);
  }
  const rows = await page.$$eval("#endpoints tbody tr", (trs) =>
    trs.map((tr) => ({ id: tr.dataset.endpoint, state: tr.querySelector(".c-state").textContent,
      breaker: tr.querySelector(".c-breaker").textContent })));
  check("every endpoint is listed", rows.map((r) => r.id).sort().join(",") === "a,b,c", JSON.stringify(rows));
  check("all are available with a closed breaker",
    rows.every((r) => r.state === "available" && r.breaker.startsWith("closed")), JSON.stringify(rows));
  check("the timeline shows history from the journal",
    (await page.$$("#timeline li[data-kind='start']")).length >= 1);

  // A fault upstream: a answers 500 from now on; one request fails over to b
  // and opens a's breaker (max_failures: 1).
  await page.evaluate(() => { window.__noReload = true; });
  const f = await fetch(`${env("QCC_IT_MOCK_A")}/_control/fault`, { method: "POST", body: "status=500" });
  check("the fault is injected", f.ok, String(f.status));
  const r = await fetch(`${env("QCC_IT_BASE_URL")}/v1/messages`, {
    method: "POST",
    headers: { "x-api-key": env("QCC_IT_CLIENT_TOKEN"), "content-type": "application/json" },
    body: JSON.stringify({ model: "m", max_tokens: 8, messages: [{ role: "user", content: "hi" }] }),
  });
  await r.arrayBuffer();
  const t0 = Date.now();
  let seen = true;
  try {
    await page.waitForFunction(() => {
      const tr = document.querySelector("#endpoints tr[data-endpoint='a']");
      return tr && tr.querySelector(".c-breaker").textContent.startsWith("open") &&
        document.querySelector("#timeline li.new[data-kind='breaker']");
    }, { timeout: 2000, polling: 50 });
  } catch (_) {
    seen = false;
  }
  const took = Date.now() - t0;
  check("the breaker change and a timeline entry show within 2 s", seen, `after ${took} ms`);
  check("... without a reload", await page.evaluate(() => window.__noReload === true));
  console.log(`INFO breaker shown after ${took} ms`);

  for (const scheme of ["light", "dark"]) {
    await page.emulateMediaFeatures([{ name: "prefers-color-scheme", value: scheme }]);
    await new Promise((res) => setTimeout(res, 150));
    await page.screenshot({ path: `${env("QCC_IT_ARTIFACTS")}/status-page-${scheme}.png`, fullPage: true });
  }
  const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  check("dark mode changes the colours", bg !== "rgb(246, 247, 249)", bg);
  await page.emulateMediaFeatures([{ name: "prefers-color-scheme", value: "light" }]);

  // Disable b from the page: the button asks first; Cancel changes nothing.
  const btn = "#endpoints tr[data-endpoint='b'] button.act-disable";
  await page.click(btn);
  await page.waitForSelector("#confirm[open]", { timeout: 2000 });
  await page.click("#confirm-no");
  await new Promise((res) => setTimeout(res, 300));
  check("cancel leaves b enabled", qcccEndpoint("b").operator_disabled === false);
  await page.click(btn);
  await page.waitForSelector("#confirm[open]", { timeout: 2000 });
  check("the confirmation names the endpoint",
    (await page.$eval("#confirm-text", (e) => e.textContent)).includes('"b"'));
  await page.click("#confirm-yes");
  let disabled = false;
  for (let i = 0; i < 40 && !disabled; i++) {
    await new Promise((res) => setTimeout(res, 100));
    disabled = qcccEndpoint("b").operator_disabled === true;
  }
  check("the disable button disables b (qccc endpoint list --json)", disabled);
  check("... with the status page's reason", qcccEndpoint("b").disabled_reason === "from the status page");
  try {
    await page.waitForFunction(() => {
      const tr = document.querySelector("#endpoints tr[data-endpoint='b']");
      return tr && tr.querySelector(".c-state").textContent === "disabled";
    }, { timeout: 3000, polling: 50 });
    check("the page shows b disabled, live", true);
  } catch (_) {
    check("the page shows b disabled, live", false);
  }

  // The usage charts' module with data (the usage store is not wired yet):
  // one bar per non-empty bucket and series, a legend, values in the tooltips.
  const bars = await page.evaluate(async () => {
    const m = await import("./charts.js");
    const el = m.bars([{ name: "a", values: [0, 1200, 300] }, { name: "b", values: [50, 0, 0] }],
      ["0h", "1h", "2h"], (v) => `${Math.round(v)}`, "tokens");
    return { rects: el.querySelectorAll("rect").length, legend: el.querySelector(".legend").textContent,
      tips: [...el.querySelectorAll("rect title")].map((t) => t.textContent) };
  });
  check("usage bars: one rect per non-empty value", bars.rects === 3, JSON.stringify(bars));
  check("usage bars: a legend and tooltips", bars.legend === "ab" && bars.tips.includes("a 1h: 1200"),
    JSON.stringify(bars));

  // A dead letter: every upstream left fails (a's breaker is open, b is
  // disabled, c answers 503), the queue gives up; the page lists it live, and
  // its Retry and Drop buttons do what `qccc queue retry` and drop do.
  for (const m of [env("QCC_IT_MOCK_A"), env("QCC_IT_MOCK_C")])
    await fetch(`${m}/_control/fault`, { method: "POST", body: "status=503" });
  const r2 = await fetch(`${env("QCC_IT_BASE_URL")}/v1/messages`, {
    method: "POST",
    headers: { "x-api-key": env("QCC_IT_CLIENT_TOKEN"), "content-type": "application/json" },
    body: JSON.stringify({ model: "m-dead", max_tokens: 8, messages: [{ role: "user", content: "hi" }] }),
  });
  await r2.arrayBuffer();
  check("with every upstream failing the request ends 503", r2.status === 503, String(r2.status));
  let dl = null;
  try {
    await page.waitForSelector("#deadletters li[data-deadletter]", { timeout: 3000 });
    dl = await page.$eval("#deadletters li[data-deadletter]", (li) => li.dataset.deadletter);
  } catch (_) { /* checked below */ }
  check("the dead letter shows on the page without a reload", dl !== null);
  for (const m of [env("QCC_IT_MOCK_A"), env("QCC_IT_MOCK_C")])
    await fetch(`${m}/_control/fault`, { method: "POST", body: "ok" });
  const deadLetters = () => {
    const out = JSON.parse(execFileSync(env("QCC_IT_QCCC"), ["queue", "list", "--json", "--state-dir", env("QCC_IT_STATE")]));
    const found = [];
    const walk = (x) => {
      if (Array.isArray(x)) x.forEach(walk);
      else if (x && typeof x === "object") {
        if ("body_kept" in x) found.push(x);
        else Object.values(x).forEach(walk);
      }
    };
    walk(out);
    return found;
  };
  if (dl !== null) {
    await page.click(`#deadletters li[data-deadletter='${dl}'] button:not(.danger)`);
    await page.waitForSelector("#confirm[open]", { timeout: 2000 });
    await page.click("#confirm-yes");
    let replayed = null;
    for (let i = 0; i < 50 && !replayed; i++) {
      await new Promise((res) => setTimeout(res, 100));
      const d = deadLetters().find((x) => x.id === dl);
      if (d && d.replay) replayed = d.replay;
    }
    check("Retry replays the dead letter (qccc queue list shows the answer)", replayed && replayed.status === 200,
      JSON.stringify(replayed));
    await page.click(`#deadletters li[data-deadletter='${dl}'] button.danger`);
    await page.waitForSelector("#confirm[open]", { timeout: 2000 });
    await page.click("#confirm-yes");
    let gone = false;
    for (let i = 0; i < 40 && !gone; i++) {
      await new Promise((res) => setTimeout(res, 100));
      gone = !deadLetters().some((x) => x.id === dl);
    }
    check("Drop forgets the dead letter (qccc queue list)", gone);
    try {
      await page.waitForFunction((id) => !document.querySelector(`#deadletters li[data-deadletter='${id}']`),
        { timeout: 3000, polling: 50 }, dl);
      check("... and the page drops it, live", true);
    } catch (_) {
      check("... and the page drops it, live", false);
    }
  }

  // Keyboard: Tab reaches a button and it shows a focus ring.
  await page.keyboard.press("Tab");
  await page.keyboard.press("Tab");
  const focus = await page.evaluate(() => {
    const e = document.activeElement;
    return e ? `${e.tagName} ${getComputedStyle(e).outlineStyle}` : "";
  });
  check("Tab reaches a button with a visible focus style", focus.startsWith("BUTTON") && !focus.endsWith("none"), focus);

  // Live updates (about one a second here) keep the focused button: a
  // keyboard user is not thrown back to the top of the page.
  await page.focus("#endpoints tr[data-endpoint='c'] button");
  const updates0 = Number(await page.evaluate(() => document.body.dataset.updates || 0));
  await new Promise((res) => setTimeout(res, 2500));
  const updates = Number(await page.evaluate(() => document.body.dataset.updates || 0)) - updates0;
  check("updates keep arriving (state pushed as it changes)", updates >= 1, `${updates} updates`);
  const still = await page.evaluate(() => {
    const e = document.activeElement;
    return e && e.tagName === "BUTTON" && e.closest("tr") && e.closest("tr").dataset.endpoint;
  });
  check("focus stays on a button across live updates", still === "c", String(still));

  // A phone: the page reflows into one column without horizontal scrolling.
  await page.setViewport({ width: 390, height: 1100, isMobile: true, deviceScaleFactor: 2 });
  await new Promise((res) => setTimeout(res, 150));
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  check("readable on a phone (no page-wide horizontal scroll)", overflow <= 1, `${overflow}px`);
  const cut = await page.evaluate(() => {
    const t = document.querySelector("#endpoints").closest(".scroll");
    return t.scrollWidth - t.clientWidth;
  });
  check("on a phone the endpoint table fits (no sideways scrolling)", cut <= 1, `${cut}px`);
  await page.screenshot({ path: `${env("QCC_IT_ARTIFACTS")}/status-page-phone.png` });
  check("no script errors or CSP violations in the console", problems.length === 0, problems.join(" | "));
} finally {
  await browser.close();
}
process.exit(failed === 0 ? 0 : 1);
