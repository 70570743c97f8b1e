// Shared by every page: API calls (with the API token) that surface errors, URL state, formatting.
"use strict";

const FL = {};

// ---- API token ----------------------------------------------------------------------------
// A server with `auth: tokens` in flightlog.yaml answers 401 without a token and 403 when
// the token lacks the role or tenant. The token is kept for this tab (sessionStorage), or
// for this browser when the user ticks "Remember" (localStorage), and sent on every call.
FL.TOKEN_KEY = "flightlog.token";

FL.token = function () {
  return sessionStorage.getItem(FL.TOKEN_KEY) || localStorage.getItem(FL.TOKEN_KEY) || "";
};

FL.saveToken = function (token, remember) {
  FL.forgetToken();
  (remember ? localStorage : sessionStorage).setItem(FL.TOKEN_KEY, token);
  FL.renderSignOut();
};

FL.forgetToken = function () {
  sessionStorage.removeItem(FL.TOKEN_KEY);
  localStorage.removeItem(FL.TOKEN_KEY);
};

// ---- tenant ---------------------------------------------------------------------------------
// Like Grafana's Loki data source: the tenant the UI reads (sent as X-Scope-OrgID; `a|b` reads
// several), chosen in the header and remembered on this browser. Empty: the server's default.
// Like Grafana's `orgId=`, a link's `tenant=` chooses the tenant for that page without
// changing the remembered one; links the UI builds carry the page's tenant unless it is empty.
FL.TENANT_KEY = "flightlog.tenant";
FL.TENANT_PARAM = "tenant";

FL.storedTenant = function () {
  return (localStorage.getItem(FL.TENANT_KEY) || "").trim();
};

FL.tenant = function () {
  return (FL.params().get(FL.TENANT_PARAM) || "").trim() || FL.storedTenant();
};

FL.saveTenant = function (tenant) {
  const value = String(tenant || "").trim();
  if (value) localStorage.setItem(FL.TENANT_KEY, value); else localStorage.removeItem(FL.TENANT_KEY);
};

// A "Tenant" field in the header: a change is saved (also in the page's URL) and the page
// loads its data again.
FL.renderTenant = function () {
  const header = document.querySelector("header");
  if (!header || document.getElementById("tenant")) return;
  const input = FL.el("input", { id: "tenant", size: "12", placeholder: "default", autocomplete: "off", spellcheck: "false",
    title: "X-Scope-OrgID sent with every request; a|b reads several tenants; empty: the server's default" });
  input.value = FL.tenant();
  input.addEventListener("change", () => {
    if (input.value.trim() === FL.tenant()) return;
    FL.saveTenant(input.value);
    FL.setParams({ [FL.TENANT_PARAM]: input.value.trim() });
    window.location.reload();
  });
  header.append(FL.el("span", { class: "tenant" }, FL.el("label", { for: "tenant" }, "Tenant"), " ", input));
};

// base64url of the UTF-8 text, without padding, as the WebSocket subprotocols carry it.
FL.base64url = function (text) {
  let binary = "";
  for (const byte of new TextEncoder().encode(text)) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
};

// Every API call of the UI goes through here: it adds the tenant and the token, turns error answers into
// thrown Errors, and on 401/403 asks for a token and sends the same request again once one
// is saved (the server refuses before doing anything, so a repeated POST is safe).
FL.api = async function (path, options = {}) {
  for (;;) {
    const sentToken = FL.token();
    const headers = new Headers(options.headers || {});
    if (sentToken) headers.set("Authorization", `Bearer ${sentToken}`);
    const tenant = FL.tenant();
    if (tenant && !headers.has("X-Scope-OrgID")) headers.set("X-Scope-OrgID", tenant);
    let response;
    try {
      response = await fetch(path, { ...options, headers });
    } catch (err) {
      throw new Error(`cannot reach the server: ${err.message}`);
    }
    const text = await response.text();
    let body = null;
    try { body = text ? JSON.parse(text) : null; } catch (_) { body = null; }
    if (response.ok) return body;
    const detail = (body && (body.error || body.message || body.detail)) || text || response.statusText;
    const message = typeof detail === "string" ? detail : JSON.stringify(detail);
    if (response.status === 401 || response.status === 403) {
      // A token saved while this call was on its way: try that one before asking.
      if (FL.token() !== sentToken) continue;
      if (await FL.askForToken(response.status, message, sentToken)) continue;
    }
    const error = new Error(`${response.status}: ${message}`);
    error.status = response.status;
    throw error;
  }
};

// The WebSocket subprotocols that carry the token and the tenant (browsers cannot set
// headers on a WebSocket): "flightlog", which the server answers with, and each in base64url.
FL.socketProtocols = function () {
  const token = FL.token(), tenant = FL.tenant();
  if (!token && !tenant) return [];
  const protocols = ["flightlog"];
  if (token) protocols.push(`base64url.bearer.flightlog.${FL.base64url(token)}`);
  if (tenant) protocols.push(`base64url.tenant.flightlog.${FL.base64url(tenant)}`);
  return protocols;
};

// Why a 403 happened, in words: the server names the role it wanted or the tenant.
FL.forbiddenReason = function (message) {
  const role = /does not allow '(\w+)'/.exec(message);
  return role ? `it needs the ${role[1]} role.` : `${message}.`;
};

// Shows the token prompt (one for all waiting calls; a later refusal only updates its
// words) and resolves true once a token is saved, false when the user closes it.
// `sentToken` is the token the refused call carried.
FL.askForToken = function (status, message, sentToken = FL.token()) {
  const explanation = status === 403
    ? `This token cannot do that: ${FL.forbiddenReason(message)} Paste one that can (an admin token can do everything), or close this.`
    : sentToken ? "The saved API token was not accepted: paste a valid one."
      : "This server needs an API token (one of auth.tokens in its flightlog.yaml).";
  let prompt = document.getElementById("auth-prompt");
  if (!prompt) {
    const input = FL.el("input", { id: "auth-token", type: "password", autocomplete: "off", spellcheck: "false", size: "40", required: "" });
    const remember = FL.el("input", { id: "auth-remember", type: "checkbox" });
    const form = FL.el("form", { class: "row" },
      FL.el("label", { for: "auth-token" }, "API token"), input,
      remember, FL.el("label", { for: "auth-remember" }, "Remember on this browser"),
      FL.el("button", { type: "submit" }, "Save"),
      FL.el("button", { type: "button", onclick: () => FL.closeTokenPrompt(false) }, "Close"));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const token = input.value.trim();
      if (!token) return;
      FL.saveToken(token, remember.checked);
      FL.closeTokenPrompt(true);
    });
    prompt = FL.el("section", { id: "auth-prompt", class: "card auth", "aria-label": "API token" },
      FL.el("p", { id: "auth-message", role: "alert" }), form);
    (document.querySelector("main") || document.body).prepend(prompt);
    FL.tokenPrompt = { waiting: [] };
    input.focus();
  }
  prompt.dataset.status = String(status);
  document.getElementById("auth-message").textContent = explanation;
  return new Promise((resolve) => FL.tokenPrompt.waiting.push(resolve));
};

FL.closeTokenPrompt = function (saved) {
  const prompt = document.getElementById("auth-prompt");
  if (prompt) prompt.remove();
  const waiting = FL.tokenPrompt ? FL.tokenPrompt.waiting : [];
  FL.tokenPrompt = null;
  for (const resolve of waiting) resolve(saved);
};

// A "Sign out" button in the header while a token is stored: it forgets the token.
FL.renderSignOut = function () {
  const header = document.querySelector("header");
  if (!header) return;
  const existing = document.getElementById("sign-out");
  if (!FL.token()) { if (existing) existing.remove(); return; }
  if (existing) return;
  header.append(FL.el("button", { id: "sign-out", type: "button", class: "link", onclick: () => {
    FL.forgetToken();
    window.location.reload();
  } }, "Sign out"));
};
document.addEventListener("DOMContentLoaded", () => {
  FL.renderTenant();
  FL.renderSignOut();
  // The page's own URL and the header's links carry the tenant, so a copied link opens it.
  if (FL.tenant() && !FL.params().has(FL.TENANT_PARAM)) FL.setParams({});
  for (const link of document.querySelectorAll("header nav a")) link.setAttribute("href", FL.link(link.getAttribute("href")));
});

FL.showError = function (err) {
  const box = document.getElementById("error");
  if (!box) return;
  box.textContent = err ? (err.message || String(err)) : "";
};

FL.params = () => new URLSearchParams(window.location.search);

// Replaces the page's URL parameters given in `values` (empty: removed); the tenant is kept.
FL.setParams = function (values) {
  const params = FL.params();
  for (const [key, value] of Object.entries({ [FL.TENANT_PARAM]: FL.tenant(), ...values })) {
    if (value === null || value === undefined || value === "") params.delete(key); else params.set(key, value);
  }
  const search = params.toString();
  history.replaceState(null, "", search ? `${window.location.pathname}?${search}` : window.location.pathname);
};

// A link to a page of the UI that opens it in this page's tenant.
FL.link = function (path) {
  const tenant = FL.tenant();
  if (!tenant) return path;
  return `${path}${path.includes("?") ? "&" : "?"}${FL.TENANT_PARAM}=${encodeURIComponent(tenant)}`;
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
  return FL.link(`/?query=${encodeURIComponent(query)}&range=${encodeURIComponent(range)}`);
};

FL.plotTheme = {
  paper_bgcolor: "#171d24", plot_bgcolor: "#171d24", font: { color: "#e6e6e6" },
  margin: { l: 50, r: 20, t: 30, b: 40 }, xaxis: { gridcolor: "#2a333d" }, yaxis: { gridcolor: "#2a333d" },
};
