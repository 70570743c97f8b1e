// Explore: LogQL editor with completion, volume histogram, log rows, context, trace follow, live tail.
"use strict";

const $ = (id) => document.getElementById(id);
const ID_KEYS = ["trace_id", "correlation_id", "request_id", "traceID", "trace"];
let labelNames = [];
let labelNamesLoaded = Promise.resolve();
let tailSocket = null;
let rowCount = 0;
let contextOpener = null; // the log row whose context is shown: focus goes back to it on close
let completionSeq = 0;

function currentRange() {
  return FL.rangeFromInputs($("range").value, $("from").value, $("to").value);
}

function syncUrl(follow = null) {
  FL.setParams({
    query: $("query").value, range: $("range").value, limit: $("limit").value, follow,
    from: $("range").value === "absolute" ? $("from").value : null,
    to: $("range").value === "absolute" ? $("to").value : null,
  });
}

function stepSeconds(startMs, endMs) {
  return Math.max(1, Math.ceil((endMs - startMs) / 1000 / 60));
}

function isMetricResult(body) {
  return body && body.data && body.data.resultType !== "streams";
}

async function runQuery() {
  FL.showError(null);
  stopTail();
  const query = $("query").value.trim();
  if (!query) { FL.showError(new Error("enter a LogQL query, for example {service=\"trainer\"}")); return; }
  syncUrl();
  let startMs, endMs;
  try { [startMs, endMs] = currentRange(); } catch (err) { FL.showError(err); return; }
  const step = stepSeconds(startMs, endMs);
  const params = new URLSearchParams({
    query, start: FL.msToNs(startMs), end: FL.msToNs(endMs), limit: $("limit").value || "200",
    direction: "backward", step: `${step}s`,
  });
  $("summary").textContent = "Running…";
  try {
    const body = await FL.api(`/loki/api/v1/query_range?${params}`, {
      headers: { "X-Loki-Response-Encoding-Flags": "categorize-labels" },
    });
    if (isMetricResult(body)) {
      $("rows").replaceChildren();
      Plotly.purge("volume");
      drawMetric(body.data);
    } else {
      $("metric").hidden = true;
      renderStreams(body.data.result);
      drawVolume(query, startMs, endMs, step).catch((err) => FL.showError(err));
    }
  } catch (err) {
    $("summary").textContent = "";
    FL.showError(err);
  }
}

function flattenStreams(result) {
  const rows = [];
  for (const stream of result) {
    for (const value of stream.values) {
      const extra = value[2] || {};
      rows.push({
        ts: value[0], line: value[1], labels: stream.stream,
        metadata: extra.structuredMetadata || {}, parsed: extra.parsed || {},
      });
    }
  }
  rows.sort((a, b) => (BigInt(b.ts) > BigInt(a.ts) ? 1 : BigInt(b.ts) < BigInt(a.ts) ? -1 : 0));
  return rows;
}

function levelOf(row) {
  const level = row.labels.level || row.metadata.level || row.parsed.level || "";
  return String(level).toLowerCase();
}

function traceIdOf(row) {
  for (const source of [row.metadata, row.parsed]) {
    for (const key of ID_KEYS) if (source[key]) return source[key];
  }
  try {
    const obj = JSON.parse(row.line);
    for (const key of ID_KEYS) if (obj[key]) return obj[key];
  } catch (_) { /* not JSON */ }
  const match = /(?:trace_id|correlation_id|request_id)=([\w-]+)/.exec(row.line);
  return match ? match[1] : null;
}

function renderRow(row, tbody) {
  // A log line is one tab stop (roving tabindex: ↓/↑ move between lines); Enter or Space
  // on the line toggles its details, like the Details button does.
  const tr = FL.el("tr", { class: `level-${levelOf(row)} logrow`, tabindex: "-1", "aria-expanded": "false" });
  const detailId = `detail-${++rowCount}`;
  const detail = FL.el("tr", { hidden: "", id: detailId, class: "detailrow" }, FL.el("td", { colspan: "4" }, detailBlock(row)));
  const toggle = FL.el("button", { type: "button", "aria-expanded": "false", "aria-controls": detailId,
    onclick: () => toggleDetail() }, "Details");
  const toggleDetail = () => {
    detail.hidden = !detail.hidden;
    toggle.setAttribute("aria-expanded", String(!detail.hidden));
    tr.setAttribute("aria-expanded", String(!detail.hidden));
  };
  tr.setAttribute("aria-controls", detailId);
  tr.addEventListener("focus", () => makeTabStop(tr));
  tr.addEventListener("keydown", (event) => {
    if (event.target !== tr || event.altKey || event.ctrlKey || event.metaKey) return;
    if (event.key === "Enter" || event.key === " ") { event.preventDefault(); toggleDetail(); }
    else if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      const rows = [...$("rows").querySelectorAll("tr.logrow")];
      const next = rows[rows.indexOf(tr) + (event.key === "ArrowDown" ? 1 : -1)];
      if (next) next.focus();
    }
  });
  const actions = FL.el("td", {}, toggle, " ",
    FL.el("button", { type: "button", onclick: () => showContext(row, tr) }, "Context"));
  const traceId = traceIdOf(row);
  if (traceId) {
    actions.append(" ", FL.el("button", { type: "button", title: `Follow ${traceId} across all streams`,
      onclick: () => followId(traceId) }, "Follow ID"));
  }
  tr.append(FL.el("td", { class: "ts" }, FL.formatNs(row.ts)), FL.el("td", {}, FL.labelChips(row.labels)),
    FL.el("td", { class: "logline" }, row.line), actions);
  tbody.append(tr, detail);
}

function makeTabStop(tr) {
  for (const other of $("rows").querySelectorAll('tr.logrow[tabindex="0"]')) if (other !== tr) other.tabIndex = -1;
  tr.tabIndex = 0;
}

function ensureTabStop() {
  const rows = $("rows");
  if (!rows.querySelector('tr.logrow[tabindex="0"]')) {
    const first = rows.querySelector("tr.logrow");
    if (first) first.tabIndex = 0;
  }
}

function detailBlock(row) {
  let pretty = row.line;
  try { pretty = JSON.stringify(JSON.parse(row.line), null, 2); } catch (_) { /* plain text line */ }
  const meta = { labels: row.labels, structured_metadata: row.metadata, parsed: row.parsed };
  return FL.el("pre", { class: "detail" }, `${pretty}\n\n${JSON.stringify(meta, null, 2)}`);
}

function renderStreams(result, limit = Infinity) {
  const rows = flattenStreams(result).slice(0, limit);
  const tbody = $("rows");
  tbody.replaceChildren();
  for (const row of rows) renderRow(row, tbody);
  ensureTabStop();
  const streams = new Set(rows.map((row) => JSON.stringify(row.labels))).size;
  $("summary").textContent = `${rows.length} lines from ${streams} streams`;
  return { lines: rows.length, streams };
}

async function drawVolume(query, startMs, endMs, step) {
  if (/^\s*[a-z_]+\s*\(/.test(query)) return;
  const volumeQuery = `sum by (level) (count_over_time(${query} [${step}s]))`;
  const params = new URLSearchParams({ query: volumeQuery, start: FL.msToNs(startMs), end: FL.msToNs(endMs), step: `${step}s` });
  const body = await FL.api(`/loki/api/v1/query_range?${params}`);
  const traces = body.data.result.map((series) => ({
    type: "bar", name: series.metric.level || "unknown",
    x: series.values.map((v) => new Date(v[0] * 1000)), y: series.values.map((v) => Number(v[1])),
  }));
  Plotly.react("volume", traces, { ...FL.plotTheme, barmode: "stack", title: { text: "Log volume by level" } },
    { displaylogo: false, responsive: true });
}

function drawMetric(data) {
  $("metric").hidden = false;
  const series = data.resultType === "matrix" ? data.result
    : data.result.map((s) => ({ metric: s.metric, values: [s.value] }));
  const traces = series.map((s) => ({
    type: "scatter", mode: "lines+markers", name: FL.selectorFor(s.metric),
    x: s.values.map((v) => new Date(v[0] * 1000)), y: s.values.map((v) => Number(v[1])),
  }));
  Plotly.react("metric", traces, { ...FL.plotTheme, title: { text: "Metric query" } }, { displaylogo: false, responsive: true });
  $("summary").textContent = `${series.length} series`;
}

async function showContext(row, opener = null) {
  FL.showError(null);
  const selector = FL.selectorFor(row.labels);
  const ts = BigInt(row.ts);
  const window = 3600n * 1000000000n;
  const around = async (direction, start, end) => {
    const params = new URLSearchParams({ query: selector, start: String(start), end: String(end), limit: "10", direction });
    const body = await FL.api(`/loki/api/v1/query_range?${params}`);
    return flattenStreams(body.data.result);
  };
  try {
    const before = await around("backward", ts - window, ts);
    const after = await around("forward", ts, ts + window);
    const rows = [...after.reverse(), ...before];
    const tbody = $("context-rows");
    tbody.replaceChildren();
    for (const r of rows) {
      const tr = FL.el("tr", r.ts === row.ts && r.line === row.line ? { "aria-current": "true", style: "background:#223" } : {},
        FL.el("td", { class: "ts" }, FL.formatNs(r.ts)), FL.el("td", { class: "logline" }, r.line));
      tbody.append(tr);
    }
    contextOpener = opener;
    $("context-panel").hidden = false;
    $("close-context").focus();
  } catch (err) { FL.showError(err); }
}

// LogQL has no "every stream" selector and no OR of selectors, so following an ID runs one
// query per label name L_i, {L_1="", …, L_(i-1)="", L_i=~".+"} |= "id": stream s is matched
// by exactly the query of the first label it carries, so the queries cover every stream of
// the tenant once (no duplicates), whatever labels a source gives (service, service_name,
// job, …). The label names come from /loki/api/v1/labels for the chosen range.
function followSelectors(labelNamesInRange) {
  const names = [...labelNamesInRange].sort();
  return names.map((name, i) => `{${[...names.slice(0, i).map((n) => `${n}=""`), `${name}=~".+"`].join(", ")}}`);
}

async function inBatches(items, size, work) {
  const out = [];
  for (let i = 0; i < items.length; i += size) out.push(...(await Promise.all(items.slice(i, i + size).map(work))));
  return out;
}

async function followId(id) {
  FL.showError(null);
  stopTail();
  let startMs, endMs;
  try { [startMs, endMs] = currentRange(); } catch (err) { FL.showError(err); return; }
  syncUrl(id);
  const limit = Number($("limit").value) || 200;
  const span = { start: FL.msToNs(startMs), end: FL.msToNs(endMs) };
  $("summary").textContent = `Following ${id}…`;
  try {
    const names = (await FL.api(`/loki/api/v1/labels?${new URLSearchParams(span)}`)).data || [];
    const filter = `|= ${FL.quote(id)}`;
    const results = await inBatches(followSelectors(names), 4, (selector) => {
      const params = new URLSearchParams({ query: `${selector} ${filter}`, ...span, limit: String(limit), direction: "backward" });
      return FL.api(`/loki/api/v1/query_range?${params}`, { headers: { "X-Loki-Response-Encoding-Flags": "categorize-labels" } });
    });
    $("metric").hidden = true;
    Plotly.purge("volume");
    const shown = renderStreams(results.flatMap((body) => body.data.result), limit);
    $("summary").textContent = `${shown.lines} lines containing ${FL.quote(id)} across ${shown.streams} streams`;
  } catch (err) {
    $("summary").textContent = "";
    FL.showError(err);
  }
}

function closeContext() {
  $("context-panel").hidden = true;
  const opener = contextOpener;
  contextOpener = null;
  if (opener && opener.isConnected) { makeTabStop(opener); opener.focus(); }
}

function stopTail() {
  if (tailSocket) { tailSocket.close(); tailSocket = null; }
  $("tail").setAttribute("aria-pressed", "false");
  $("tail").textContent = "Live tail";
}

function startTail() {
  FL.showError(null);
  const query = $("query").value.trim();
  if (!query) { FL.showError(new Error("enter a log query to tail")); return; }
  syncUrl();
  const proto = window.location.protocol === "https:" ? "wss" : "ws";
  const url = `${proto}://${window.location.host}/loki/api/v1/tail?query=${encodeURIComponent(query)}&limit=50`;
  const socket = new WebSocket(url, FL.socketProtocols());
  tailSocket = socket;
  $("tail").setAttribute("aria-pressed", "true");
  $("tail").textContent = "Stop tail";
  $("rows").replaceChildren();
  $("summary").textContent = "connecting…";
  socket.onopen = () => { $("summary").textContent = "tailing… 0 lines"; };
  socket.onmessage = (event) => {
    const message = JSON.parse(event.data);
    if (message.status === "error") {
      const status = { unauthorized: 401, forbidden: 403 }[message.errorType];
      if (status) {
        stopTail();
        $("summary").textContent = "";
        FL.askForToken(status, message.error).then((saved) => { if (saved) startTail(); });
      } else {
        FL.showError(new Error(`live tail: ${message.error}`));
      }
      return;
    }
    const rows = flattenStreams(message.streams || []).reverse();
    const tbody = $("rows");
    for (const row of rows) {
      const holder = document.createElement("tbody");
      renderRow(row, holder);
      tbody.prepend(...holder.children);
    }
    ensureTabStop();
    $("summary").textContent = `tailing… ${tbody.querySelectorAll("tr:not([hidden])").length} lines`;
  };
  socket.onerror = () => FL.showError(new Error("live tail connection failed"));
  socket.onclose = (event) => {
    if (event.code !== 1000 && event.reason) FL.showError(new Error(`live tail closed: ${event.reason}`));
    if (tailSocket === socket) stopTail();
  };
}

// ---- completion -------------------------------------------------------------------------
async function loadLabelNames() {
  try {
    const body = await FL.api("/loki/api/v1/labels");
    labelNames = body.data || [];
  } catch (err) { FL.showError(err); }
}

// The completion list is an ARIA combobox listbox (not a <datalist>, whose popup keyboard
// users and screen readers cannot rely on): ↓/↑ move the active option, Enter takes it,
// Escape closes the list.
async function updateCompletions() {
  const seq = ++completionSeq;
  const input = $("query");
  const text = input.value.slice(0, input.selectionStart ?? input.value.length);
  const valueMatch = /([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)$/.exec(text);
  let options = [];
  if (valueMatch && text.lastIndexOf("{") > text.lastIndexOf("}")) {
    const [, name, , partial] = valueMatch;
    try {
      const body = await FL.api(`/loki/api/v1/label/${encodeURIComponent(name)}/values`);
      const base = text.slice(0, text.length - partial.length);
      // Values go in quoted, so a " or \ in a value cannot end the string early.
      options = (body.data || []).map((v) => FL.quote(v)).filter((q) => q.slice(1).startsWith(partial))
        .map((q) => `${base}${q.slice(1)}`);
    } catch (_) { options = []; }
  } else if (/[{,]\s*([a-zA-Z_]*)$/.test(text) && text.lastIndexOf("{") > text.lastIndexOf("}")) {
    await labelNamesLoaded; // typed before the page had the names: wait for them, not an empty list
    const partial = /([a-zA-Z_]*)$/.exec(text)[1];
    const base = text.slice(0, text.length - partial.length);
    options = labelNames.filter((n) => n.startsWith(partial)).map((n) => `${base}${n}="`);
  }
  if (seq !== completionSeq) return; // a later keystroke asked again meanwhile
  showCompletions(options.slice(0, 50));
}

function showCompletions(values) {
  const list = $("completions");
  list.replaceChildren(...values.map((value, i) => FL.el("li", {
    role: "option", id: `completion-${i}`, "data-value": value, "aria-selected": "false",
    onmousedown: (event) => event.preventDefault(), onclick: () => acceptCompletion(value),
  }, value)));
  setActiveCompletion(-1);
  const open = values.length > 0 && document.activeElement === $("query");
  list.hidden = !open;
  $("query").setAttribute("aria-expanded", String(open));
}

function closeCompletions() {
  completionSeq += 1; // drop answers still on their way
  $("completions").hidden = true;
  $("query").setAttribute("aria-expanded", "false");
  setActiveCompletion(-1);
}

function completionItems() {
  return [...$("completions").querySelectorAll('[role="option"]')];
}

function setActiveCompletion(index) {
  const items = completionItems();
  items.forEach((item, i) => item.setAttribute("aria-selected", String(i === index)));
  if (index >= 0 && items[index]) {
    $("query").setAttribute("aria-activedescendant", items[index].id);
    items[index].scrollIntoView({ block: "nearest" });
  } else {
    $("query").removeAttribute("aria-activedescendant");
  }
}

function activeCompletion() {
  return completionItems().findIndex((item) => item.getAttribute("aria-selected") === "true");
}

function acceptCompletion(value) {
  const input = $("query");
  const rest = input.value.slice(input.selectionEnd ?? input.value.length);
  input.value = value + rest;
  input.setSelectionRange(value.length, value.length);
  input.focus();
  closeCompletions();
  updateCompletions(); // a label name just taken offers its values next
}

function onQueryKeydown(event) {
  const open = !$("completions").hidden;
  if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
    event.preventDefault(); closeCompletions(); runQuery(); return;
  }
  if (event.key === "ArrowDown" || event.key === "ArrowUp") {
    const items = completionItems();
    if (!items.length) return;
    event.preventDefault();
    if (!open) { $("completions").hidden = false; $("query").setAttribute("aria-expanded", "true"); }
    const current = activeCompletion();
    const step = event.key === "ArrowDown" ? 1 : -1;
    setActiveCompletion(current < 0 ? (step > 0 ? 0 : items.length - 1) : (current + step + items.length) % items.length);
  } else if (event.key === "Enter" && open && activeCompletion() >= 0) {
    event.preventDefault(); // take the completion; the query runs on the next Enter
    acceptCompletion(completionItems()[activeCompletion()].dataset.value);
  } else if (event.key === "Enter") {
    closeCompletions(); // and the form submits: Enter runs the query
  } else if (event.key === "Escape" && open) {
    event.preventDefault();
    closeCompletions();
  }
}

function toggleAbsolute() {
  const absolute = $("range").value === "absolute";
  $("from").disabled = !absolute;
  $("to").disabled = !absolute;
}

function init() {
  const params = FL.params();
  if (params.get("query")) $("query").value = params.get("query");
  if (params.get("range")) $("range").value = params.get("range");
  if (params.get("from")) $("from").value = params.get("from");
  if (params.get("to")) $("to").value = params.get("to");
  if (params.get("limit")) $("limit").value = params.get("limit");
  toggleAbsolute();
  $("range").addEventListener("change", toggleAbsolute);
  $("query-form").addEventListener("submit", (event) => { event.preventDefault(); runQuery(); });
  $("query").addEventListener("input", updateCompletions);
  $("query").addEventListener("keydown", onQueryKeydown);
  $("query").addEventListener("blur", closeCompletions);
  $("tail").addEventListener("click", () => (tailSocket ? stopTail() : startTail()));
  $("close-context").addEventListener("click", closeContext);
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && !event.defaultPrevented && !$("context-panel").hidden) {
      event.preventDefault();
      closeContext();
    }
  });
  labelNamesLoaded = loadLabelNames();
  if (params.get("follow")) followId(params.get("follow"));
  else if ($("query").value) runQuery();
}

init();
