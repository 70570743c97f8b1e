// Models: the latest result of each scheduled drift check, per feature, drifted first.
"use strict";

const SEVERITY_ORDER = { alert: 0, warning: 1, none: 2 };
let lastChecks = [];

function number(value) {
  if (value === null || value === undefined || Number.isNaN(Number(value))) return "n/a";
  const n = Number(value);
  if (n !== 0 && (Math.abs(n) < 1e-3 || Math.abs(n) >= 1e5)) return n.toExponential(2);
  return n.toFixed(4).replace(/\.?0+$/, "") || "0";
}

// Drifted (alert) first, then warnings, then the rest; by name within each group.
function sortFeatures(features) {
  return [...features].sort((a, b) => {
    const byDrift = Number(Boolean(b.drift)) - Number(Boolean(a.drift));
    if (byDrift) return byDrift;
    const bySeverity = (SEVERITY_ORDER[a.severity] ?? 3) - (SEVERITY_ORDER[b.severity] ?? 3);
    return bySeverity || String(a.name).localeCompare(String(b.name));
  });
}

function testsTable(tests) {
  const table = FL.el("table", { class: "drift-tests", "aria-label": "Tests" },
    FL.el("thead", {}, FL.el("tr", {}, FL.el("th", { scope: "col" }, "Test"), FL.el("th", { scope: "col" }, "Statistic"),
      FL.el("th", { scope: "col" }, "p-value"), FL.el("th", { scope: "col" }, "Threshold"))));
  const body = FL.el("tbody");
  for (const test of tests || []) {
    body.append(FL.el("tr", { "data-test": test.test }, FL.el("td", {}, test.test), FL.el("td", {}, number(test.statistic)),
      FL.el("td", {}, number(test.p_value)), FL.el("td", {}, number(test.threshold))));
  }
  table.append(body);
  return table;
}

function severityBadge(severity) {
  const cls = severity === "alert" ? "firing" : severity === "warning" ? "pending" : "completed";
  return FL.el("span", { class: `badge ${cls}` }, severity || "n/a");
}

async function runNow(model, button) {
  button.disabled = true;
  button.textContent = "Running…";
  try {
    await FL.api(`/api/v1/drift/checks/${encodeURIComponent(model)}/run`, { method: "POST" });
    FL.showError(null);
    await load();
  } catch (err) {
    FL.showError(err);
    button.disabled = false;
    button.textContent = "Run now";
  }
}

function modelCard(check, onlyDrifted) {
  const features = sortFeatures(check.features || []);
  const drifted = check.drifted || features.filter((f) => f.drift).map((f) => f.name);
  const headingId = `model-${check.model}`.replace(/[^A-Za-z0-9_-]/g, "_");
  const button = FL.el("button", { type: "button", class: "run-now", "aria-label": `Run the drift check of ${check.model} now` }, "Run now");
  button.addEventListener("click", () => runNow(check.model, button));
  const summary = drifted.length
    ? FL.el("span", { class: "badge firing" }, `${drifted.length} drifted: ${drifted.join(", ")}`)
    : FL.el("span", { class: "badge completed" }, "no drift");
  const card = FL.el("section", { class: "card model", "data-model": check.model, "aria-labelledby": headingId },
    FL.el("h2", { id: headingId }, check.model, " ", summary),
    FL.el("p", { class: "muted" }, `checked ${FL.formatTime(check.checked_at_ns)} UTC · window ${FL.formatTime(check.window?.start_ns)} – ${FL.formatTime(check.window?.end_ns)} `, button));
  if (check.error) card.append(FL.el("div", { class: "error check-error", role: "status" }, `check failed: ${check.error}`));
  const table = FL.el("table", { class: "features", "aria-label": `Features of ${check.model}` },
    FL.el("thead", {}, FL.el("tr", {}, FL.el("th", { scope: "col" }, "Feature"), FL.el("th", { scope: "col" }, "Kind"),
      FL.el("th", { scope: "col" }, "Drift"), FL.el("th", { scope: "col" }, "Severity"), FL.el("th", { scope: "col" }, "Tests"))));
  const body = FL.el("tbody");
  const shown = onlyDrifted ? features.filter((f) => f.drift || f.severity === "warning") : features;
  for (const feature of shown) {
    body.append(FL.el("tr", { "data-feature": feature.name, class: feature.drift ? "drifted" : "" },
      FL.el("th", { scope: "row" }, feature.name), FL.el("td", {}, feature.kind),
      FL.el("td", { class: "drift" }, feature.drift ? FL.el("span", { class: "badge firing" }, "yes") : "no"),
      FL.el("td", {}, severityBadge(feature.severity)), FL.el("td", {}, testsTable(feature.tests))));
  }
  if (!shown.length) {
    const text = features.length ? "No drifted or warning features." : "No features in this result.";
    body.append(FL.el("tr", {}, FL.el("td", { colspan: "5", class: "muted" }, text)));
  }
  table.append(body);
  card.append(table);
  return card;
}

function render() {
  const onlyDrifted = document.getElementById("only-drifted").checked;
  const box = document.getElementById("models");
  box.replaceChildren();
  if (!lastChecks.length) {
    box.append(FL.el("p", { id: "empty", class: "muted" },
      "No drift checks configured, or none has run yet: add models under monitor.drift_checks in the server config."));
    return;
  }
  // Models with a drifted feature first, then by name.
  const checks = [...lastChecks].sort((a, b) =>
    Number((b.drifted || []).length > 0) - Number((a.drifted || []).length > 0) || String(a.model).localeCompare(String(b.model)));
  for (const check of checks) box.append(modelCard(check, onlyDrifted));
}

async function load() {
  try {
    const body = await FL.api("/api/v1/drift/checks");
    lastChecks = Array.isArray(body && body.data) ? body.data : [];
    FL.showError(null);
    render();
  } catch (err) { FL.showError(err); }
}

document.getElementById("only-drifted").addEventListener("change", () => {
  FL.setParams({ drifted: document.getElementById("only-drifted").checked ? "1" : "" });
  render();
});
document.getElementById("refresh").addEventListener("click", load);
document.getElementById("only-drifted").checked = FL.params().get("drifted") === "1";
load();
