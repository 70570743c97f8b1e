// One run: curves with diagnoses marked, diagnosis cards, hyperparameters, system metrics, errors.
"use strict";

const $ = (id) => document.getElementById(id);
const runId = decodeURIComponent(window.location.pathname.split("/").pop());

function keyValueRows(tbody, object) {
  tbody.replaceChildren();
  for (const [key, value] of Object.entries(object || {})) {
    tbody.append(FL.el("tr", {}, FL.el("th", { scope: "row" }, key),
      FL.el("td", {}, typeof value === "object" ? JSON.stringify(value) : String(value))));
  }
}

function drawCurves(run) {
  const byMetric = new Map();
  for (const series of run.series) {
    if (!byMetric.has(series.metric)) byMetric.set(series.metric, []);
    byMetric.get(series.metric).push({
      type: "scatter", mode: "lines+markers", name: series.split,
      x: series.points.map((p) => p[0]), y: series.points.map((p) => p[1]),
    });
  }
  const holder = $("curves");
  holder.replaceChildren();
  for (const [metric, traces] of byMetric) {
    const shapes = [], annotations = [];
    for (const d of run.diagnoses) {
      if (d.first_step === null || d.first_step === undefined) continue;
      const diagnosed = d.metric || (d.evidence && d.evidence.metric);
      if (diagnosed && diagnosed !== metric) continue;
      shapes.push({ type: "rect", xref: "x", yref: "paper", x0: d.first_step, x1: d.last_step ?? d.first_step,
        y0: 0, y1: 1, fillcolor: d.severity === "critical" ? "#ff6b6b" : "#f0b429", opacity: 0.15, line: { width: 0 } });
      annotations.push({ x: d.first_step, y: 1, yref: "paper", text: d.kind, showarrow: false, font: { color: "#f0b429" } });
    }
    const div = FL.el("div", { class: "chart", role: "img", "aria-label": `${metric} curve` });
    holder.append(div);
    Plotly.newPlot(div, traces, { ...FL.plotTheme, title: { text: metric }, shapes, annotations,
      xaxis: { title: { text: "step" }, gridcolor: "#2a333d" } }, { displaylogo: false, responsive: true });
  }
  if (!byMetric.size) holder.append(FL.el("p", { class: "muted" }, "No metrics logged yet."));
}

function drawSystem(run) {
  const holder = $("system");
  holder.replaceChildren();
  const traces = (run.system || []).map((s) => ({
    type: "scatter", mode: "lines", name: s.metric, x: s.points.map((p) => new Date(p[0] * 1000)), y: s.points.map((p) => p[1]),
  }));
  if (!traces.length) { holder.append(FL.el("p", { class: "muted" }, "No system metrics were sampled for this run.")); return; }
  const div = FL.el("div", { class: "chart", role: "img", "aria-label": "system metrics" });
  holder.append(div);
  Plotly.newPlot(div, traces, { ...FL.plotTheme, title: { text: "CPU / memory / GPU" } }, { displaylogo: false, responsive: true });
}

async function load() {
  try {
    const body = await FL.api(`/api/v1/runs/${encodeURIComponent(runId)}`);
    const run = body.data;
    document.title = `${run.name || run.run_id} · flightlog`;
    $("title").textContent = run.name || run.run_id;
    const state = FL.runStatus(run);
    const status = state.stale ? `stale (${state.title})` : run.status;
    $("meta").replaceChildren(`${run.run_id} · ${status}`, " · ",
      FL.el("a", { href: FL.exploreLink(`{run_id=${FL.quote(run.run_id)}}`, "24h") }, "logs of this run"));
    const diagnoses = $("diagnoses");
    diagnoses.replaceChildren();
    for (const d of run.diagnoses) {
      diagnoses.append(FL.el("div", { class: `card sev-${d.severity}` },
        FL.el("strong", {}, `${d.kind} (${d.severity})`), FL.el("p", {}, d.message),
        FL.el("p", { class: "muted" }, `steps ${d.first_step ?? "?"}–${d.last_step ?? "?"}`)));
    }
    if (!run.diagnoses.length) diagnoses.append(FL.el("p", { class: "muted" }, "No problems found."));
    drawCurves(run);
    drawSystem(run);
    keyValueRows($("config"), run.config);
    const { metrics, ...totals } = run.summary || {};
    keyValueRows($("summary"), totals);
    for (const m of metrics || []) {
      $("summary").append(FL.el("tr", {}, FL.el("th", { scope: "row" }, `${m.split} ${m.metric}`),
        FL.el("td", {}, `final ${Number(m.final).toPrecision(4)} @ ${m.final_step} · best ${Number(m.best).toPrecision(4)} @ ${m.best_step}`)));
    }
    const errors = $("errors");
    errors.replaceChildren();
    for (const e of run.errors || []) {
      errors.append(FL.el("tr", {}, FL.el("td", { class: "ts" }, FL.formatTime(e.ts)),
        FL.el("td", {}, e.type || ""), FL.el("td", { class: "logline" }, e.message || "")));
    }
    if (!(run.errors || []).length) errors.append(FL.el("tr", {}, FL.el("td", { class: "muted" }, "No errors.")));
  } catch (err) { FL.showError(err); }
}

load();
