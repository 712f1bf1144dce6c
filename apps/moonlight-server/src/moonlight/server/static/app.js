// MoonLight dashboard: status over REST (polled), live events over the WebSocket.
// Authentication is the HttpOnly session cookie set by /login; this script never sees
// a token. Every text from the server is inserted with textContent (no HTML parsing).
"use strict";

const API = "/api/v1";
const MAX_ORDERS = 60;
const MAX_ALARMS = 60;
const STATUS_POLL_MS = 2000;

const OPEN_STATES = ["IDLE", "PREPARE", "SEND", "CONFIRM"];

const state = {
  orders: new Map(),      // client_req_id -> order (REST fields; WebSocket updates state)
  pnlPoints: [],          // {t: epoch ms of settlement, v: cumulative P&L}, oldest first
  pnlTotal: 0,
  pnlDay: {},             // account id -> today's P&L (metrics messages)
  currency: "",
  killEngaged: false,
  socket: null,
  retryMs: 500,
  refetch: {},            // area -> pending timer (debounced REST refreshes)
};

function $(id) { return document.getElementById(id); }

function el(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (className) node.className = className;
  return node;
}

function toLogin() { window.location.replace("/login"); }

async function api(path, options) {
  const init = Object.assign({ credentials: "same-origin", headers: {} }, options || {});
  if (init.body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(init.body);
  }
  const response = await fetch(API + path, init);
  if (response.status === 401) { toLogin(); throw new Error("not signed in"); }
  let payload = null;
  try { payload = await response.json(); } catch (_) { payload = null; }
  if (!response.ok) {
    const detail = payload && payload.detail ? payload.detail : response.statusText;
    throw new Error(typeof detail === "string" ? detail : JSON.stringify(detail));
  }
  return payload;
}

// ------------------------------------------------------------------ status header

function badgeClass(value) {
  const v = String(value).toLowerCase();
  if (["active", "running", "closed", "win", "settled", "info", "live"].includes(v)) return "badge ok";
  if (["reducing", "paused", "half_open", "backoff", "warning", "push"].includes(v)) return "badge warn";
  if (["halted", "stopped", "open", "failed", "critical", "lose", "abort"].includes(v)) return "badge bad";
  return "badge";
}

function renderStatus(status) {
  $("engine-state").textContent = "engine: " + status.engine.state;
  $("engine-state").className = badgeClass(status.engine.state);
  $("clock-time").textContent = status.engine.clock_time.replace("T", " ").slice(0, 19) +
    (status.engine.simulated_clock ? " (simulated)" : " UTC");

  const ks = status.kill_switch;
  state.killEngaged = ks.global_engagement !== null;
  const kill = $("kill-state");
  if (state.killEngaged) {
    kill.textContent = "kill-switch ENGAGED by " + ks.global_engagement.by;
    kill.className = "badge bad";
  } else {
    const accounts = Object.keys(ks.accounts);
    kill.textContent = accounts.length ? "kill-switch engaged: " + accounts.join(", ")
      : "kill-switch: armed (trading)";
    kill.className = accounts.length ? "badge warn" : "badge ok";
  }
  $("kill-button").classList.toggle("hidden", state.killEngaged);
  $("rearm-button").classList.toggle("hidden", !state.killEngaged);

  const states = $("trading-states");
  states.replaceChildren(...status.accounts.map(
    (a) => el("span", a.id + ": " + a.trading_state, badgeClass(a.trading_state))));

  const currencies = new Set(status.accounts.map((a) => a.currency));
  state.currency = currencies.size === 1 ? [...currencies][0] : "";
  const body = $("accounts-table").querySelector("tbody");
  body.replaceChildren(...status.accounts.map((a) => {
    const row = el("tr");
    const day = state.pnlDay[a.id];
    row.append(el("td", a.id), el("td", a.mode),
      el("td", money(a.balance) + " " + a.currency, "num"),
      el("td", day === undefined ? "—" : signed(day) + " " + a.currency, "num"));
    const st = el("td"); st.append(el("span", a.trading_state, badgeClass(a.trading_state)));
    const cb = el("td"); cb.append(el("span", a.connector.circuit, badgeClass(a.connector.circuit)));
    const restrictions = el("td", null, "wrap");
    if (!a.restrictions.length) restrictions.append(el("span", "none", "muted"));
    for (const r of a.restrictions) {
      restrictions.append(el("div", r.guard + ": " + r.reason + " — " + r.detail));
    }
    row.append(st, cb, restrictions);
    return row;
  }));
  const w = status.workers;
  $("workers-summary").textContent = w.total + " workers · " +
    Object.entries(w.by_state).map(([k, v]) => v + " " + k).join(" · ");
}

async function refreshStatus() {
  try {
    renderStatus(await api("/status"));
  } catch (error) {
    $("engine-state").textContent = "engine: unreachable";
    $("engine-state").className = "badge bad";
  }
}

// ------------------------------------------------------------------------ workers

async function refreshWorkers() {
  let workers;
  try { workers = await api("/workers"); } catch (_) { return; }
  const grid = $("workers-grid");
  grid.replaceChildren(...workers.map((w) => {
    const tile = el("button", w.instrument + " " + w.timeframe, "tile " + w.state);
    tile.type = "button";
    tile.title = w.label + " — " + w.state + ", " + w.decisions + " decisions";
    tile.dataset.label = w.label;
    tile.dataset.paused = w.paused ? "1" : "0";
    tile.append(el("small", w.account_id + " · " + w.state));
    tile.addEventListener("click", () => changeWorkers([w.label], !w.paused));
    return tile;
  }));
}

function changeWorkers(labels, pause, all) {
  const verb = pause ? "Pause" : "Resume";
  const what = all ? "every worker" : labels.join(", ");
  confirmAction(verb + " workers", verb + " " + what + "?", false, async (operator) => {
    const body = { labels: all ? [] : labels, all: !!all, operator: operator };
    await api("/workers/" + (pause ? "pause" : "resume"), { method: "POST", body: body });
    await refreshWorkers();
  });
}

// ------------------------------------------------------------- confirmation dialog

function confirmAction(title, text, needsReason, action) {
  const dialog = $("confirm-dialog");
  $("confirm-title").textContent = title;
  $("confirm-text").textContent = text;
  $("confirm-error").textContent = "";
  $("confirm-reason-label").classList.toggle("hidden", !needsReason);
  $("confirm-reason").required = needsReason;
  $("confirm-reason").value = "";
  $("confirm-operator").value = localStorage.getItem("moonlight.operator") || "";
  const form = $("confirm-form");
  form.onsubmit = async (event) => {
    event.preventDefault();
    const operator = $("confirm-operator").value.trim();
    if (!operator) return;
    localStorage.setItem("moonlight.operator", operator);
    try {
      await action(operator, $("confirm-reason").value.trim());
      dialog.close();
      await refreshStatus();
    } catch (error) {
      $("confirm-error").textContent = error.message;
    }
  };
  $("confirm-cancel").onclick = () => dialog.close();
  dialog.showModal();
}

function engageKillSwitch() {
  confirmAction("Engage the kill-switch",
    "Stop ALL trading now? Open orders run to their end; only a person can re-arm it.",
    true, async (operator, reason) => {
      await api("/kill-switch/engage", { method: "POST",
        body: { operator: operator, reason: reason || "dashboard" } });
    });
}

function reArmKillSwitch() {
  confirmAction("Re-arm the kill-switch", "Allow trading again?", false, async (operator) => {
    await api("/kill-switch/re-arm", { method: "POST", body: { operator: operator } });
  });
}

// ------------------------------------------------------------------ orders + P&L

function money(v) {
  return v.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
}

function signed(v) { return (v > 0 ? "+" : "") + money(v); }

function clock(iso) { return iso ? String(iso).slice(11, 19) : "—"; }

function duration(seconds) {
  if (seconds === null || seconds === undefined) return "—";
  if (seconds < 60) return seconds + "s";
  const m = Math.floor(seconds / 60), s = seconds % 60;
  return m + "m" + (s ? s + "s" : "");
}

function isOpen(o) { return OPEN_STATES.includes(o.state); }

function upsertOrder(id, fields) {
  const row = Object.assign(state.orders.get(id) || { client_req_id: id }, fields);
  state.orders.set(id, row);
  renderOrders();
}

function renderOrders() {
  // open orders first, then the newest; an order known only from the WebSocket (no
  // created_at yet) is the newest of all
  const orders = Array.from(state.orders.values()).sort((a, b) =>
    (isOpen(b) - isOpen(a)) ||
    String(b.created_at || "\uffff").localeCompare(String(a.created_at || "\uffff")));
  const shown = orders.slice(0, MAX_ORDERS);
  const rows = shown.map((o) => {
    const tr = el("tr");
    tr.dataset.order = o.client_req_id;
    const st = el("td"); st.append(el("span", o.state || "", badgeClass(o.state || "")));
    const outcome = el("td");
    if (o.outcome) outcome.append(el("span", o.outcome, badgeClass(o.outcome)));
    const direction = el("td", o.direction || "—", o.direction ? "dir " + o.direction : "");
    tr.append(el("td", clock(o.created_at), "mono"), el("td", o.account_id || ""),
      el("td", o.instrument || ""), direction,
      el("td", o.stake === undefined ? "—" : money(o.stake), "num"),
      el("td", duration(o.duration_s)),
      el("td", o.p_hat === undefined || o.p_hat === null ? "—" : (o.p_hat * 100).toFixed(1) + " %", "num"),
      st, outcome,
      el("td", o.pnl === undefined || o.pnl === null ? "" : signed(o.pnl), "num"),
      el("td", o.client_req_id, "mono muted"));
    return tr;
  });
  $("orders-table").querySelector("tbody").replaceChildren(...rows);
  const open = orders.filter(isOpen).length;
  $("orders-count").textContent = orders.length ? "(" + open + " open, " + orders.length + " recent)" : "";
  $("orders-empty").classList.toggle("hidden", orders.length > 0);
}

function niceStep(span, count) {
  const raw = span / count;
  const magnitude = Math.pow(10, Math.floor(Math.log10(raw)));
  return [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => s >= raw);
}

const TIME_STEPS_S = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600, 43200, 86400];

function drawPnl() {
  const canvas = $("pnl-chart");
  const width = canvas.clientWidth || canvas.width;
  canvas.width = width;
  const height = canvas.height;
  const ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, width, height);
  const points = state.pnlPoints;
  const unit = state.currency ? " " + state.currency : "";
  $("pnl-total").textContent = points.length
    ? signed(state.pnlTotal) + unit + " over " + points.length + " results (engine clock, UTC)"
    : "(no results yet)";
  const left = 76, right = width - 12, top = 10, bottom = height - 26;
  const t0 = points.length ? points[0].t : 0;
  const t1 = points.length ? Math.max(points[points.length - 1].t, t0 + 60000) : 60000;
  const values = [0, ...points.map((p) => p.v)];
  let lo = Math.min(...values), hi = Math.max(...values);
  if (hi === lo) { lo -= 1; hi += 1; }
  const step = niceStep(hi - lo, 4);
  lo = Math.floor(lo / step) * step; hi = Math.ceil(hi / step) * step;
  const x = (t) => left + (t - t0) / (t1 - t0) * (right - left);
  const y = (v) => bottom - (v - lo) / (hi - lo) * (bottom - top);
  ctx.font = "11px system-ui, sans-serif";
  ctx.fillStyle = "#8b949e";
  ctx.strokeStyle = "#30363d";
  ctx.lineWidth = 1;
  ctx.textAlign = "right"; ctx.textBaseline = "middle";
  for (let v = lo; v <= hi + step / 2; v += step) {
    ctx.beginPath(); ctx.moveTo(left, y(v)); ctx.lineTo(right, y(v)); ctx.stroke();
    ctx.fillText(signed(v), left - 6, y(v));
  }
  const tStep = 1000 * (TIME_STEPS_S.find((s) => (t1 - t0) / 1000 / s <= 6) || 86400);
  const labels = [];
  ctx.textAlign = "center"; ctx.textBaseline = "top";
  if (points.length) {
    for (let t = Math.ceil(t0 / tStep) * tStep; t <= t1; t += tStep) {
      const label = new Date(t).toISOString().slice(11, tStep < 60000 ? 19 : 16);
      labels.push(label);
      ctx.beginPath(); ctx.moveTo(x(t), top); ctx.lineTo(x(t), bottom); ctx.stroke();
      ctx.fillText(label, x(t), bottom + 6);
    }
  }
  ctx.strokeStyle = "#8b949e";
  ctx.beginPath(); ctx.moveTo(left, top); ctx.lineTo(left, bottom); ctx.lineTo(right, bottom); ctx.stroke();
  ctx.setLineDash([4, 4]);
  ctx.beginPath(); ctx.moveTo(left, y(0)); ctx.lineTo(right, y(0)); ctx.stroke();
  ctx.setLineDash([]);
  canvas.setAttribute("aria-label", points.length
    ? "cumulative P&L " + signed(state.pnlTotal) + unit + " from " + labels[0] + " to " +
      labels[labels.length - 1] + " UTC; value axis " + signed(lo) + " to " + signed(hi)
    : "cumulative P&L: no results yet");
  if (points.length < 2) return;
  ctx.strokeStyle = state.pnlTotal >= 0 ? "#3fb950" : "#f85149";
  ctx.lineWidth = 2;
  ctx.beginPath();
  points.forEach((p, i) => {
    if (i === 0) ctx.moveTo(x(p.t), y(p.v)); else ctx.lineTo(x(p.t), y(p.v));
  });
  ctx.stroke();
}

// The chart is built from the stored results only (the one record of money): a result
// on the WebSocket schedules a fetch instead of adding its own (wall-clock) time.
async function loadResults() {
  const results = await api("/results?limit=1000");
  let total = 0;
  state.pnlPoints = results.items.slice().reverse().map((r) => {
    total += r.pnl;
    return { t: Date.parse(r.settled_at), v: total };
  });
  state.pnlTotal = total;
  drawPnl();
}

async function loadOrders() {
  const orders = await api("/orders?open_first=true&limit=" + MAX_ORDERS);
  state.orders = new Map(orders.items.map((o) => [o.client_req_id, o]));
  renderOrders();
}

async function loadAlarms() {
  const alarms = await api("/alarms?limit=" + MAX_ALARMS);
  $("alarms-feed").replaceChildren();
  for (const a of alarms.items.slice().reverse()) addAlarm(a);
}

function refetchSoon(area, load) {
  if (state.refetch[area]) return;
  state.refetch[area] = setTimeout(() => {
    state.refetch[area] = null;
    load().catch(() => null);
  }, 1000);
}

async function loadHistory() {
  try {
    await loadResults();
    await loadOrders();
    await loadAlarms();
  } catch (_) { /* shown by the status header */ }
}

// ------------------------------------------------------------------------ alarms

function addAlarm(alarm) {
  const feed = $("alarms-feed");
  const item = el("li", null, "alarm " + alarm.level);
  item.append(el("span", alarm.level, badgeClass(alarm.level)),
    el("span", String(alarm.at || alarm.ts || "").replace("T", " ").slice(0, 19), "muted"),
    el("strong", alarm.code), el("span", alarm.message));
  feed.prepend(item);
  while (feed.children.length > MAX_ALARMS) feed.lastChild.remove();
  $("alarms-empty").classList.toggle("hidden", feed.children.length > 0);
  $("alarms-count").textContent = feed.children.length ? "(" + feed.children.length + ")" : "";
}

// ---------------------------------------------------------------------- WebSocket

function setLive(text, cls) {
  $("ws-state").textContent = "live: " + text;
  $("ws-state").className = cls;
}

function connect() {
  const scheme = window.location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(scheme + "://" + window.location.host + API + "/ws", ["moonlight.v1"]);
  state.socket = socket;
  socket.onopen = () => { state.retryMs = 500; };
  socket.onmessage = (event) => {
    const message = JSON.parse(event.data);
    const d = message.data;
    switch (message.type) {
      case "decision":
        upsertOrder(d.client_req_id, { account_id: d.account_id, instrument: d.instrument,
          state: d.to_state });
        refetchSoon("orders", loadOrders);  // stake, expiry, p-hat come from storage
        break;
      case "order_state":
        upsertOrder(d.client_req_id, { account_id: d.account_id, instrument: d.instrument,
          state: d.to_state });
        break;
      case "result":
        upsertOrder(d.client_req_id, { account_id: d.account_id, instrument: d.instrument,
          outcome: d.outcome, pnl: d.pnl, state: "SETTLED" });
        refetchSoon("results", loadResults);
        break;
      case "alarm": addAlarm(d); refreshStatus(); break;
      case "hello": case "metrics": {
        const metrics = message.type === "hello" ? d.metrics : d;
        for (const [id, figures] of Object.entries((metrics && metrics.accounts) || {})) {
          state.pnlDay[id] = figures.pnl_day;
        }
        if (message.type === "hello") setLive("connected", "badge ok");
        break;
      }
      default: break;
    }
  };
  socket.onclose = (event) => {
    setLive("disconnected", "badge bad");
    if (event.code === 4401) { toLogin(); return; }
    const delay = event.code === 4429 ? 60000 : state.retryMs;
    state.retryMs = Math.min(state.retryMs * 2, 15000);
    setTimeout(connect, delay);
  };
}

// ------------------------------------------------------------------------- start

async function main() {
  try { await api("/session"); } catch (_) { return; }
  $("kill-button").addEventListener("click", engageKillSwitch);
  $("rearm-button").addEventListener("click", reArmKillSwitch);
  $("pause-all").addEventListener("click", () => changeWorkers([], true, true));
  $("resume-all").addEventListener("click", () => changeWorkers([], false, true));
  $("logout-button").addEventListener("click", async () => {
    await api("/session", { method: "DELETE" }).catch(() => null);
    toLogin();
  });
  window.addEventListener("resize", drawPnl);
  await refreshStatus();
  await refreshWorkers();
  await loadHistory();
  drawPnl();
  connect();
  setInterval(refreshStatus, STATUS_POLL_MS);
  setInterval(refreshWorkers, STATUS_POLL_MS * 2);
  setInterval(() => loadOrders().catch(() => null), STATUS_POLL_MS * 5);
}

main();
