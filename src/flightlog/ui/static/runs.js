// Runs list and run comparison (train/validation curves of several runs on one chart).
"use strict";

const $ = (id) => document.getElementById(id);

function formatDuration(seconds) {
  if (seconds === null || seconds === undefined) return "";
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60);
  return h ? `${h}h ${m}m` : m ? `${m}m ${s % 60}s` : `${s}s`;
}

function progressText(run, state) {
  if (run.progress === null || run.progress === undefined) return "";
  const pct = `${Math.round(run.progress * 100)} %`;
  if (state.stale) return `${pct}, no ETA (stale)`;
  return run.eta_s ? `${pct}, ETA ${formatDuration(run.eta_s)}` : pct;
}

// "1 critical · 2 warning (error, overfitting)"; the list reads no curves (see
// flightlog.analyze.stored_runs), so without them only error signatures are counted.
function diagnosesCell(summary) {
  if (!summary) return FL.el("td", {});
  const order = ["critical", "warning", "info"];
  const counts = Object.entries(summary.by_severity || {})
    .sort(([a], [b]) => order.indexOf(a) - order.indexOf(b)).map(([sev, n]) => `${n} ${sev}`);
  const text = summary.count ? `${counts.join(" · ")} (${summary.kinds.join(", ")})` : "none found";
  const cell = FL.el("td", { class: "diagnoses" }, text);
  if (!summary.covers_curves) {
    cell.append(" ", FL.el("span", { class: "muted", title: "the list checks error signatures only; open the run for its curve diagnoses" },
      "· errors only"));
  }
  return cell;
}

async function loadRuns() {
  try {
    const body = await FL.api("/api/v1/runs");
    const tbody = $("runs");
    tbody.replaceChildren();
    for (const run of body.data) {
      const state = FL.runStatus(run);
      const best = run.best ? `${run.best.metric} ${Number(run.best.value).toPrecision(4)} @ ${run.best.step}` : "";
      tbody.append(FL.el("tr", {},
        FL.el("td", {}, FL.el("input", { type: "checkbox", value: run.run_id, "aria-label": `select ${run.run_id}` })),
        FL.el("td", {}, FL.el("a", { href: FL.link(`/runs/${encodeURIComponent(run.run_id)}`) }, run.name || run.run_id)),
        FL.el("td", {}, FL.el("span", { class: `badge ${state.status}`, title: state.title }, state.status)),
        FL.el("td", { class: "ts" }, run.start ? new Date(run.start * 1000).toISOString().replace("T", " ").slice(0, 19) : ""),
        FL.el("td", {}, formatDuration(run.duration_s)),
        FL.el("td", {}, progressText(run, state)),
        FL.el("td", {}, best),
        FL.el("td", { class: run.errors ? "level-error" : "" }, String(run.errors ?? 0)),
        diagnosesCell(run.diagnoses_summary)));
    }
    if (!body.data.length) tbody.append(FL.el("tr", {}, FL.el("td", { colspan: "9", class: "muted" }, "No runs yet.")));
    const compare = FL.params().get("compare");
    if (compare) await showComparison(compare.split(","));
  } catch (err) { FL.showError(err); }
}

async function showComparison(runIds) {
  FL.showError(null);
  if (runIds.length < 2) { FL.showError(new Error("select at least two runs to compare")); return; }
  FL.setParams({ compare: runIds.join(",") });
  const runs = await Promise.all(runIds.map((id) => FL.api(`/api/v1/runs/${encodeURIComponent(id)}`).then((b) => b.data)));
  const byMetric = new Map();
  for (const run of runs) {
    for (const series of run.series) {
      if (!byMetric.has(series.metric)) byMetric.set(series.metric, []);
      byMetric.get(series.metric).push({
        type: "scatter", mode: "lines", name: `${run.name || run.run_id} · ${series.split}`,
        x: series.points.map((p) => p[0]), y: series.points.map((p) => p[1]),
        line: { dash: series.split === "train" ? "solid" : "dash" },
      });
    }
  }
  const holder = $("compare-charts");
  holder.replaceChildren();
  for (const [metric, traces] of byMetric) {
    const div = FL.el("div", { class: "chart", role: "img", "aria-label": `${metric} for ${runIds.join(", ")}` });
    holder.append(div);
    Plotly.newPlot(div, traces, { ...FL.plotTheme, title: { text: metric }, xaxis: { title: { text: "step" } } },
      { displaylogo: false, responsive: true });
  }
  $("comparison").hidden = false;
}

$("compare").addEventListener("click", () => {
  const ids = [...document.querySelectorAll("#runs input:checked")].map((box) => box.value);
  showComparison(ids).catch((err) => FL.showError(err));
});

loadRuns();
