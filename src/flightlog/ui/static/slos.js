// SLOs: objective, error budget remaining and burn rate per alerting window.
"use strict";

function percent(value) {
  return value === null || value === undefined || Number.isNaN(Number(value)) ? "n/a" : `${(Number(value) * 100).toFixed(2)} %`;
}

function budgetCell(slo) {
  const remaining = slo.error_budget_remaining;
  const cell = FL.el("td", { class: "budget" }, percent(remaining));
  if (remaining !== null && remaining !== undefined && remaining <= 0) cell.append(" ", FL.el("span", { class: "badge firing" }, "exhausted"));
  for (const severity of slo.firing || []) cell.append(" ", FL.el("span", { class: "badge firing" }, `${severity || "burn"} alert firing`));
  return cell;
}

async function load() {
  try {
    const body = await FL.api("/api/v1/slos");
    const slos = Array.isArray(body.data) ? body.data : (body.data && body.data.slos) || [];
    const tbody = document.getElementById("slos");
    tbody.replaceChildren();
    for (const slo of slos) {
      const rates = Object.entries(slo.burn_rates || {}).map(([w, r]) => `${w}: ${r === null ? "n/a" : `${Number(r).toFixed(2)}×`}`).join(" · ");
      tbody.append(FL.el("tr", {}, FL.el("td", {}, slo.name), FL.el("td", {}, slo.service || ""),
        FL.el("td", {}, percent(slo.objective)), FL.el("td", {}, slo.window || ""),
        budgetCell(slo), FL.el("td", {}, rates)));
    }
    if (!slos.length) tbody.append(FL.el("tr", {}, FL.el("td", { colspan: "6", class: "muted" }, "No SLOs configured.")));
  } catch (err) { FL.showError(err); }
}

load();
