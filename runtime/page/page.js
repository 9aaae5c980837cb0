// The status page: renders /qcc/api/events (SSE) and /qcc/api/usage, and
// posts the actions with the session's CSRF token (docs/status-page.md).
import { sparkline, bars } from "./charts.js";

const $ = (id) => document.getElementById(id);
const HISTORY = 60; // sparkline points (one per state update)
let csrf = null;
let state = null;
let usage = null;
let usageView = { daily: false, byModel: false };
const rates = new Map(); // endpoint id -> {last: {requests, errors}, req: [], err: []}

function text(tag, s, cls) {
  const e = document.createElement(tag);
  if (s !== undefined && s !== null) e.textContent = String(s);
  if (cls) e.className = cls;
  return e;
}

function age(iso) {
  if (!iso) return "";
  const s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ago`;
  return `${Math.floor(s / 86400)}d ago`;
}

function toast(msg) {
  const t = $("toast");
  t.textContent = msg;
  t.classList.add("show");
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => t.classList.remove("show"), 3000);
}

// Update OLD in place to look like NEW: a button keeps its node (its focus
// and a click in progress survive the once-a-second updates), other nodes
// without buttons are swapped whole.
function morph(o, n) {
  if (o.nodeType !== 1 || n.nodeType !== 1 || o.tagName !== n.tagName) {
    o.replaceWith(n);
    return;
  }
  if (o.tagName === "BUTTON") {
    o.textContent = n.textContent;
    o.className = n.className;
    o.disabled = n.disabled;
    o.onclick = n.onclick;
    return;
  }
  if (!o.querySelector("button")) {
    o.replaceWith(n);
    return;
  }
  o.className = n.className;
  const oc = [...o.childNodes], nc = [...n.childNodes];
  if (oc.length !== nc.length) {
    o.replaceChildren(...nc);
    return;
  }
  oc.forEach((c, i) => morph(c, nc[i]));
}

// CONTAINER's children become FRESH (elements with data-key), reusing the
// element of the same key when there is one.
function reconcile(container, fresh) {
  const old = new Map();
  for (const c of [...container.children]) {
    if (c.dataset.key !== undefined) old.set(c.dataset.key, c);
    else c.remove();
  }
  fresh.forEach((f, i) => {
    let el = old.get(f.dataset.key);
    if (el) {
      old.delete(f.dataset.key);
      el.className = f.className;
      const oc = [...el.childNodes], nc = [...f.childNodes];
      if (oc.length === nc.length) oc.forEach((c, k) => morph(c, nc[k]));
      else el.replaceChildren(...nc);
    } else {
      el = f;
    }
    if (container.children[i] !== el) container.insertBefore(el, container.children[i] || null);
  });
  for (const el of old.values()) el.remove();
}

function badge(s, kind) {
  return text("span", s, `st st-${kind}`);
}

function endpointState(e) {
  if (e.operator_disabled) return ["disabled", "off"];
  if (!e.enabled) return ["off in config", "off"];
  if (e.key_problem) return ["no key", "bad"];
  if (e.key_rejected) return ["key rejected", "bad"];
  if (e.resting_for_ms > 0) return [e.rest_reason === "budget" ? "budget spent" : "resting", "warn"];
  return e.available ? ["available", "ok"] : ["unavailable", "bad"];
}

const healthKind = { healthy: "ok", degraded: "warn", unhealthy: "bad" };
const breakerKind = { closed: "ok", half_open: "warn", open: "bad" };

function ms(v) {
  return v === null || v === undefined ? "–" : v >= 1000 ? `${(v / 1000).toFixed(1)}s` : `${Math.round(v)}ms`;
}

function fmtTokens(v) {
  if (v >= 1e6) return `${(v / 1e6).toFixed(1)}M`;
  if (v >= 1e3) return `${(v / 1e3).toFixed(1)}k`;
  return String(Math.round(v));
}

function fmtCost(v) {
  return `$${v >= 100 ? v.toFixed(0) : v.toFixed(2)}`;
}

function trackRates(eps) {
  for (const e of eps) {
    let r = rates.get(e.id);
    if (!r) {
      r = { last: null, req: [], err: [] };
      rates.set(e.id, r);
    }
    if (r.last) {
      r.req.push(Math.max(0, e.requests - r.last.requests));
      r.err.push(Math.max(0, e.errors - r.last.errors));
      if (r.req.length > HISTORY) { r.req.shift(); r.err.shift(); }
    }
    r.last = { requests: e.requests, errors: e.errors };
  }
}

function todayOf(id) {
  const list = usage && usage.today && usage.today.endpoints;
  const u = list && list.find((x) => x.endpoint === id);
  if (!u) return "–";
  const parts = [`${fmtTokens(u.tokens || 0)} tok`];
  if (typeof u.cost === "number") parts.push(fmtCost(u.cost));
  if (typeof u.budget_left === "number") parts.push(`${fmtCost(u.budget_left)} left`);
  return parts.join(" · ");
}

function renderState() {
  if (!state) return;
  const st = state.status || {};
  const r = st.routing || {};
  const pr = state.priority || {};
  const eps = state.endpoints || [];
  const up = eps.filter((e) => e.available).length;
  $("summary").textContent = `${r.active_profile || "–"} (${r.active_group || "–"})` +
    `${r.pinned ? ` · pinned to ${r.pin_profile}` : ""} · ${up}/${eps.length} endpoints available`;

  const dl = $("routing");
  dl.replaceChildren();
  const facts = [
    ["Active profile", r.active_profile || "–"],
    ["Group", r.active_group || "–"],
    ["Since", r.active_since ? `${new Date(r.active_since).toLocaleString()} (${age(r.active_since)})` : "–"],
    ["Pin", r.pinned ? `${r.pin_profile}${r.pin_reason ? ` — ${r.pin_reason}` : ""}` : "none (automatic)"],
    ["Requests", st.requests ? `${st.requests.total} total, ${st.requests.failed} failed, ${st.requests.active} active` : "–"],
    ["Table", st.table ? `generation ${st.table.generation}` : "–"],
    ["qcc-run", st.version ? `${st.version}, up ${Math.round((st.uptime_s || 0) / 60)} min` : "–"],
  ];
  for (const [k, v] of facts) dl.append(text("dt", k), text("dd", v));
  $("btn-unpin").disabled = !r.pinned;

  const profiles = [];
  for (const p of pr.profiles || []) {
    const d = text("div", null, `profile${p.active ? " active" : ""}`);
    d.dataset.profile = p.name;
    d.dataset.key = p.name;
    d.append(text("strong", p.name), text("span", `${p.group} · ${p.available}/${p.endpoints}`, "muted small"));
    if (p.pinned) d.append(badge("pinned", "warn"));
    const b = text("button", p.pinned ? "Pinned" : "Pin");
    b.type = "button";
    b.disabled = p.pinned;
    b.onclick = () => act(`Pin profile "${p.name}"? Automatic switching stops until you unpin.`,
      `profiles/${encodeURIComponent(p.name)}/pin`);
    d.append(b);
    profiles.push(d);
  }
  reconcile($("profiles"), profiles);

  trackRates(eps);
  const rows = [];
  for (const e of eps) {
    const tr = document.createElement("tr");
    tr.dataset.endpoint = e.id;
    tr.dataset.key = e.id;
    const name = text("td");
    name.append(text("strong", e.id), document.createElement("br"), text("span", `${e.profile} · ${e.group}`, "muted small"));
    const [sname, skind] = endpointState(e);
    const stTd = text("td");
    stTd.append(badge(sname, skind));
    stTd.className = "c-state";
    const hTd = text("td");
    hTd.className = "c-health";
    hTd.append(badge(e.health, healthKind[e.health] || "off"), text("span", ` ${e.score}`, "muted small"));
    const bTd = text("td");
    bTd.className = "c-breaker";
    bTd.append(badge(e.breaker, breakerKind[e.breaker] || "off"));
    if (e.breaker_open_for_ms > 0) bTd.append(text("span", ` ${Math.ceil(e.breaker_open_for_ms / 1000)}s`, "muted small"));
    const rate = e.error_rate === null ? "–" : `${(e.error_rate * 100).toFixed(1)}%`;
    const sp = text("td");
    const rr = rates.get(e.id);
    sp.append(sparkline(rr.req, rr.err, `requests and errors per update for ${e.id}`));
    const last = text("td", e.last_error ? `${e.last_error} (${age(e.last_failure)})` : "–", "small");
    const actTd = text("td");
    const btn = text("button", e.operator_disabled ? "Enable" : "Disable", e.operator_disabled ? "act-enable" : "act-disable danger");
    btn.type = "button";
    btn.onclick = () => e.operator_disabled
      ? act(`Enable endpoint "${e.id}"?`, `endpoints/${encodeURIComponent(e.id)}/enable`)
      : act(`Disable endpoint "${e.id}"? It takes no requests until enabled again.`, `endpoints/${encodeURIComponent(e.id)}/disable`);
    actTd.append(btn);
    const errTd = text("td", rate);
    errTd.dataset.label = "errors";
    tr.append(name, stTd, hTd, bTd, text("td", e.inflight), text("td", `${ms(e.ttfb_p50_ms)} / ${ms(e.ttfb_p99_ms)}`),
      errTd, sp, text("td", todayOf(e.id), "small"), last, actTd);
    rows.push(tr);
  }
  reconcile($("endpoints").tBodies[0], rows);
}

function describe(e) {
  const who = e.endpoint || e.profile || "";
  switch (e.kind) {
    case "switch": return `switched ${e.from || "–"} → ${e.to || "–"}${e.reason ? ` (${e.reason})` : ""}`;
    case "breaker": return `${who}: breaker ${e.from || ""} → ${e.to || ""}`;
    case "health": return `${who}: health ${e.from || ""} → ${e.to || ""}${e.reason ? ` (${e.reason})` : ""}`;
    case "pin": return `pinned ${who || e.to || ""}${e.reason ? ` (${e.reason})` : ""}`;
    case "unpin": return `unpinned${e.reason ? ` (${e.reason})` : ""}`;
    case "disable": return `${who}: disabled${e.reason ? ` (${e.reason})` : ""}`;
    case "enable": return `${who}: enabled${e.reason ? ` (${e.reason})` : ""}`;
    case "reload": return `table reloaded${e.to ? ` (generation ${e.to})` : ""}${e.reason ? ` ${e.reason}` : ""}`;
    case "reload_rejected": return `table rejected${e.reason ? `: ${e.reason}` : ""}`;
    case "start": return `qcc-run started${e.reason ? ` ${e.reason}` : ""}`;
    case "stop": return `qcc-run stopped${e.reason ? ` (${e.reason})` : ""}`;
    case "alert": return `alert ${e.to || ""}${e.reason ? `: ${e.reason}` : ""}`;
    case "health_check": return `health check requested${e.reason ? ` (${e.reason})` : ""}`;
    case "retry": return `dead letter ${e.to || ""} retried${e.reason ? ` (${e.reason})` : ""}`;
    default: return `${e.kind}${who ? ` ${who}` : ""}${e.reason ? `: ${e.reason}` : ""}`;
  }
}

function timelineItem(e, fresh) {
  const li = text("li", null, fresh ? "new" : "");
  li.dataset.kind = e.kind;
  const t = text("time", new Date(e.time).toLocaleTimeString());
  t.dateTime = e.time;
  t.title = e.time;
  li.append(t, text("span", describe(e)));
  return li;
}

function renderTimeline(entries) {
  const ol = $("timeline");
  ol.replaceChildren(...entries.slice().reverse().map((e) => timelineItem(e, false)));
}

function addEntry(e) {
  const ol = $("timeline");
  ol.prepend(timelineItem(e, true));
  while (ol.children.length > 300) ol.lastChild.remove();
}

function renderQueue(q) {
  if (!q) return;
  const qq = q.queue;
  $("queue-summary").textContent = qq
    ? `${qq.depth} waiting, ${qq.retrying} retrying${qq.enabled ? "" : " (queue off)"}`
    : "queue not available";
  const list = q.dead_letters || [];
  const items = [];
  if (list.length === 0) {
    const none = text("li", "none", "muted");
    none.dataset.key = "";
    items.push(none);
  }
  for (const d of list) {
    const li = text("li");
    li.dataset.deadletter = d.id;
    li.dataset.key = d.id;
    li.append(text("code", d.id), text("span", `${d.method} ${d.target} · ${d.reason || ""} · ${age(d.time)}`, "small"));
    const retry = text("button", "Retry");
    retry.type = "button";
    retry.onclick = () => act(`Replay dead letter ${d.id}?`, `deadletters/${encodeURIComponent(d.id)}/retry`);
    const drop = text("button", "Drop", "danger");
    drop.type = "button";
    drop.onclick = () => act(`Drop dead letter ${d.id}? It is deleted for good.`, `deadletters/${encodeURIComponent(d.id)}/drop`);
    li.append(retry, drop);
    items.push(li);
  }
  reconcile($("deadletters"), items);
}

function renderUsage() {
  if (!usage) return;
  $("usage-note").textContent = usage.available ? "" : (usage.note || "no usage data yet");
  const part = usageView.daily ? usage.daily : usage.hourly;
  if (!part || !(part.series || []).length) {
    // nothing recorded: no empty axes, just the note above
    $("usage-tokens").replaceChildren();
    $("usage-cost").replaceChildren();
    $("usage-tokens").dataset.total = "0";
    if (usage.available) $("usage-note").textContent = "no usage in this period";
    return;
  }
  const start = Date.parse(part.start);
  const labels = [];
  for (let i = 0; i < part.points; i++) {
    // a day's label from its noon: days of 23 or 25 hours (DST) keep their date
    const d = new Date(start + i * part.step_s * 1000 + (usageView.daily ? 43200000 : 0));
    labels.push(usageView.daily ? `${d.getMonth() + 1}/${d.getDate()}` : `${d.getHours()}h`);
  }
  const key = usageView.byModel ? "model" : "endpoint";
  const group = (field) => {
    const m = new Map();
    for (const s of part.series || []) {
      const k = s[key] || "?";
      const acc = m.get(k) || new Array(part.points).fill(0);
      (s[field] || []).forEach((v, i) => { acc[i] += v || 0; });
      m.set(k, acc);
    }
    return [...m.entries()].map(([name, values]) => ({ name, values }));
  };
  const tokens = group("tokens");
  $("usage-tokens").replaceChildren(bars(tokens, labels, fmtTokens, "tokens"));
  // no price for any of it: say so rather than draw an axis of $0.00
  const costs = (part.series || []).flatMap((s) => s.cost || []);
  if (costs.some((v) => v === null) && !costs.some((v) => typeof v === "number" && v > 0)) {
    $("usage-cost").replaceChildren(text("p", "cost: no price for these models (the pricing table has none)", "muted"));
  } else {
    $("usage-cost").replaceChildren(bars(group("cost"), labels, fmtCost, "cost"));
  }
  // what the chart shows, for scripts and tests: the period's token total
  $("usage-tokens").dataset.total = String(tokens.reduce((t, s) => t + s.values.reduce((a, v) => a + v, 0), 0));
}

let lastUsage = 0;
let usageTimer = null;
// New traffic: fetch usage again, at most every 5 s, and never miss the last
// burst (half a second later, so its records are written).
function usageSoon() {
  if (usageTimer) return;
  const wait = Math.max(500, lastUsage + 5000 - Date.now());
  usageTimer = setTimeout(() => { usageTimer = null; loadUsage(); }, wait);
}
async function loadUsage() {
  lastUsage = Date.now();
  try {
    const r = await fetch("api/usage", { credentials: "same-origin" });
    if (r.ok) {
      usage = await r.json();
      renderUsage();
      renderState();
    }
  } catch (_) { /* next round */ }
}

function confirmDialog(message) {
  const dlg = $("confirm");
  $("confirm-text").textContent = message;
  return new Promise((resolve) => {
    dlg.addEventListener("close", () => resolve(dlg.returnValue === "ok"), { once: true });
    dlg.returnValue = "";
    dlg.showModal();
    $("confirm-no").focus();
  });
}

async function act(message, path) {
  if (!(await confirmDialog(message))) return;
  try {
    const r = await fetch(`api/${path}`, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRF-Token": csrf || "", "Content-Type": "application/json" },
      body: "{}",
    });
    const body = await r.json().catch(() => ({}));
    toast(r.ok ? "done" : `failed: ${body.error || r.status}`);
  } catch (err) {
    toast(`failed: ${err}`);
  }
}

function connect() {
  const es = new EventSource("api/events");
  es.addEventListener("open", () => $("live").classList.add("on"));
  es.addEventListener("error", () => $("live").classList.remove("on"));
  es.addEventListener("snapshot", (ev) => {
    const d = JSON.parse(ev.data);
    state = d.state;
    renderState();
    renderQueue(d.queue);
    renderTimeline(d.timeline.entries || []);
    document.body.dataset.ready = "1";
  });
  es.addEventListener("update", (ev) => {
    const d = JSON.parse(ev.data);
    // new traffic: the usage charts follow within a few seconds
    const total = (x) => (x && x.status && x.status.requests ? x.status.requests.total : 0);
    if (total(d.state) !== total(state)) usageSoon();
    state = d.state;
    renderState();
    renderQueue(d.queue);
    document.body.dataset.updates = String(Number(document.body.dataset.updates || 0) + 1);
  });
  es.addEventListener("entry", (ev) => addEntry(JSON.parse(ev.data)));
}

function setView(id, key, value) {
  usageView[key] = value;
  $("u-hourly").setAttribute("aria-pressed", String(!usageView.daily));
  $("u-daily").setAttribute("aria-pressed", String(usageView.daily));
  $("u-by").setAttribute("aria-pressed", String(usageView.byModel));
  renderUsage();
}

async function main() {
  $("btn-unpin").addEventListener("click", () => act("Unpin and return to automatic switching?", "unpin"));
  $("btn-check").addEventListener("click", () => act("Run a health check of every enabled endpoint now?", "health-check"));
  $("u-hourly").addEventListener("click", () => setView("u-hourly", "daily", false));
  $("u-daily").addEventListener("click", () => setView("u-daily", "daily", true));
  $("u-by").addEventListener("click", () => setView("u-by", "byModel", !usageView.byModel));
  try {
    const r = await fetch("api/session", { credentials: "same-origin" });
    if (r.ok) csrf = (await r.json()).csrf;
  } catch (_) { /* read-only */ }
  connect();
  loadUsage();
  setInterval(loadUsage, 60000);
}

main();
