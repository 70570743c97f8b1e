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
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${String(v).replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`);
  return `{${parts.join(", ")}}`;
};

FL.exploreLink = function (query, range = "1h") {
  return `/?query=${encodeURIComponent(query)}&range=${encodeURIComponent(range)}`;
};

FL.plotTheme = {
  paper_bgcolor: "#171d24", plot_bgcolor: "#171d24", font: { color: "#e6e6e6" },
  margin: { l: 50, r: 20, t: 30, b: 40 }, xaxis: { gridcolor: "#2a333d" }, yaxis: { gridcolor: "#2a333d" },
};
