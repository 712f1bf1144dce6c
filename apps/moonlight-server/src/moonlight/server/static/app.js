// MoonLight dashboard: status over REST (polled), live events over the WebSocket.
// Authentication is the HttpOnly session cookie set by /login; this script never sees
// a token. Every text from the server is inserted with textContent (no HTML parsing).
"use strict";

const API = "/api/v1";
const MAX_ORDERS = 60;
const MAX_ALARMS = 60;
const STATUS_POLL_MS = 2000;

const state = {
  orders: new Map(),      // client_req_id -> row data, newest last
  pnlPoints: [],          // cumulative P&L after each result, oldest first
  pnlTotal: 0,
  killEngaged: false,
  socket: null,
  retryMs: 500,
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

  const body = $("accounts-table").querySelector("tbody");
  body.replaceChildren(...status.accounts.map((a) => {
    const row = el("tr");
    row.append(el("td", a.id), el("td", a.mode),
      el("td", a.balance.toFixed(2) + " " + a.currency));
    const st = el("td"); st.append(el("span", a.trading_state, badgeClass(a.trading_state)));
    const cb = el("td"); cb.append(el("span", a.connector.circuit, badgeClass(a.connector.circuit)));
    const restrictions = el("td");
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

function upsertOrder(id, fields) {
  const row = Object.assign(state.orders.get(id) || { id: id }, fields);
  state.orders.delete(id);
  state.orders.set(id, row);
  while (state.orders.size > MAX_ORDERS) state.orders.delete(state.orders.keys().next().value);
  renderOrders();
}

function renderOrders() {
  const rows = Array.from(state.orders.values()).reverse().map((o) => {
    const tr = el("tr");
    tr.dataset.order = o.id;
    const st = el("td"); st.append(el("span", o.state || "", badgeClass(o.state || "")));
    const outcome = el("td"); if (o.outcome) outcome.append(el("span", o.outcome, badgeClass(o.outcome)));
    tr.append(el("td", o.id, "mono"), el("td", o.account || ""), el("td", o.instrument || ""),
      st, outcome, el("td", o.pnl === undefined || o.pnl === null ? "" : o.pnl.toFixed(2)));
    return tr;
  });
  $("orders-table").querySelector("tbody").replaceChildren(...rows);
  $("orders-count").textContent = state.orders.size ? "(" + state.orders.size + " recent)" : "";
}

function addResult(pnl) {
  state.pnlTotal += pnl;
  state.pnlPoints.push(state.pnlTotal);
  if (state.pnlPoints.length > 2000) state.pnlPoints.shift();
  drawPnl();
}

function drawPnl() {
  const canvas = $("pnl-chart");
  const width = canvas.clientWidth || canvas.width;
  canvas.width = width;
  const height = canvas.height;
  const ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, width, height);
  const points = state.pnlPoints;
  $("pnl-total").textContent = points.length
    ? "cumulative " + state.pnlTotal.toFixed(2) + " over " + points.length + " results" : "(no results yet)";
  const values = [0, ...points];
  const lo = Math.min(...values), hi = Math.max(...values);
  const span = hi - lo || 1;
  const y = (v) => height - 10 - ((v - lo) / span) * (height - 20);
  ctx.strokeStyle = "#556";
  ctx.beginPath(); ctx.moveTo(0, y(0)); ctx.lineTo(width, y(0)); ctx.stroke();
  if (values.length < 2) return;
  ctx.strokeStyle = state.pnlTotal >= 0 ? "#3fb950" : "#f85149";
  ctx.lineWidth = 2;
  ctx.beginPath();
  values.forEach((v, i) => {
    const x = (i / (values.length - 1)) * (width - 4) + 2;
    if (i === 0) ctx.moveTo(x, y(v)); else ctx.lineTo(x, y(v));
  });
  ctx.stroke();
}

async function loadHistory() {
  try {
    const results = await api("/results?limit=500");
    for (const r of results.items.slice().reverse()) addResult(r.pnl);
    const orders = await api("/orders?limit=" + MAX_ORDERS);
    for (const o of orders.items.slice().reverse()) {
      upsertOrder(o.client_req_id, { account: o.account_id, instrument: o.instrument,
        state: o.state, outcome: o.outcome, pnl: o.pnl });
    }
    const alarms = await api("/alarms?limit=" + MAX_ALARMS);
    for (const a of alarms.items.slice().reverse()) addAlarm(a);
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
      case "hello": setLive("connected", "badge ok"); break;
      case "decision":
      case "order_state":
        upsertOrder(d.client_req_id, { account: d.account_id, instrument: d.instrument,
          state: d.to_state });
        break;
      case "result":
        upsertOrder(d.client_req_id, { account: d.account_id, instrument: d.instrument,
          outcome: d.outcome, pnl: d.pnl, state: "SETTLED" });
        addResult(d.pnl);
        break;
      case "alarm": addAlarm(d); refreshStatus(); break;
      case "metrics": break;
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
}

main();
