// Shared by every page: API calls that surface errors, URL state, formatting.
"use strict";

const FL = {};

FL.api = async function (path, options = {}) {
  let response;
  try {
    response = await fetch(path, options);
  } catch (err) {
    throw new Error(`cannot reach the server: ${err.message}`);
  }
  const text = await response.text();
  let body = null;
  try { body = text ? JSON.parse(text) : null; } catch (_) { body = null; }
  if (!response.ok) {
    const message = (body && (body.error || body.message || body.detail)) || text || response.statusText;
    throw new Error(`${response.status}: ${typeof message === "string" ? message : JSON.stringify(message)}`);
  }
  return body;
};

FL.showError = function (err) {
  const box = document.getElementById("error");
  if (!box) return;
  box.textContent = err ? (err.message || String(err)) : "";
};

FL.params = () => new URLSearchParams(window.location.search);

FL.setParams = function (values) {
  const params = FL.params();
  for (const [key, value] of Object.entries(values)) {
    if (value === null || value === undefined || value === "") params.delete(key); else params.set(key, value);
  }
  history.replaceState(null, "", `${window.location.pathname}?${params.toString()}`);
};

// Relative ranges as Loki and Grafana write them.
FL.DURATIONS = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };
FL.parseDuration = function (text) {
  const match = /^(\d+(?:\.\d+)?)([smhdw])$/.exec(text || "");
  return match ? Number(match[1]) * FL.DURATIONS[match[2]] : null;
};

// Returns [startNs, endNs] as BigInt-safe decimal strings.
FL.rangeFromInputs = function (relative, from, to) {
  const nowMs = Date.now();
  if (relative === "absolute") {
    const startMs = Date.parse(from), endMs = Date.parse(to);
    if (Number.isNaN(startMs) || Number.isNaN(endMs)) throw new Error("absolute range: give both From and To");
    if (startMs >= endMs) throw new Error("absolute range: From must be before To");
    return [startMs, endMs];
  }
  const seconds = FL.parseDuration(relative);
  if (!seconds) throw new Error(`unknown time range ${relative}`);
  return [nowMs - seconds * 1000, nowMs];
};

FL.msToNs = (ms) => `${Math.floor(ms)}000000`;

FL.formatNs = function (ns) {
  const ms = Number(BigInt(ns) / 1000000n);
  return new Date(ms).toISOString().replace("T", " ").replace("Z", "");
};

// Any timestamp the API hands out: ns as decimal text or BigInt (Loki results), seconds as a
// number (runs API), or RFC 3339 text (events the SDK shipped, e.g. a run's errors).
FL.formatTime = function (value) {
  if (value === null || value === undefined || value === "") return "";
  if (typeof value === "bigint" || (typeof value === "string" && /^\d+$/.test(value))) return FL.formatNs(value);
  if (typeof value === "number") return new Date(value * 1000).toISOString().replace("T", " ").replace("Z", "");
  // Date.parse takes at most milliseconds: cut longer fractions (RFC 3339 allows ns).
  const ms = Date.parse(String(value).replace(/(\.\d{3})\d+/, "$1"));
  return Number.isNaN(ms) ? String(value) : new Date(ms).toISOString().replace("T", " ").replace("Z", "");
};

// A double-quoted string as LogQL and Alertmanager matchers read it: \\, \" and \n escaped.
FL.quote = function (value) {
  return `"${String(value).replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`;
};

// The text between the quotes, decoded as Alertmanager's matcher parser does: \\, \" and
// \n are escapes; any other backslash is kept as written (so =~"a\.b" stays a regex).
FL.unquote = function (body) {
  return String(body).replace(/\\(.)/gs, (escape, ch) => (ch === "n" ? "\n" : ch === '"' || ch === "\\" ? ch : escape));
};

// A run that never sent run_end and has sent no event for this long is shown as stale:
// its process most likely died (OOM kill, preemption, lost node) and its ETA means nothing.
// SDK runs send progress events every 10 % of an epoch (and system samples when enabled),
// so a live run stays well inside it.
FL.STALE_AFTER_S = 15 * 60;

FL.runStatus = function (run, nowMs = Date.now()) {
  const silentS = run.last_event ? nowMs / 1000 - run.last_event : null;
  if (run.status === "running" && silentS !== null && silentS > FL.STALE_AFTER_S) {
    return { status: "stale", stale: true, title: `no event for ${Math.round(silentS / 60)} min and no run_end: the run probably died` };
  }
  return { status: run.status, stale: false, title: "" };
};

FL.el = function (tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
};

FL.labelChips = function (labels) {
  const span = FL.el("span");
  for (const [k, v] of Object.entries(labels || {})) span.append(FL.el("span", { class: "lbl" }, `${k}=${v}`));
  return span;
};

FL.selectorFor = function (labels) {
  const parts = Object.entries(labels).map(([k, v]) => `${k}=${FL.quote(v)}`);
  return `{${parts.join(", ")}}`;
};

FL.exploreLink = function (query, range = "1h") {
  return `/?query=${encodeURIComponent(query)}&range=${encodeURIComponent(range)}`;
};

FL.plotTheme = {
  paper_bgcolor: "#171d24", plot_bgcolor: "#171d24", font: { color: "#e6e6e6" },
  margin: { l: 50, r: 20, t: 30, b: 40 }, xaxis: { gridcolor: "#2a333d" }, yaxis: { gridcolor: "#2a333d" },
};
