// SLOs: objective, error budget remaining and burn rate per alerting window.
"use strict";

function percent(value) {
  return value === null || value === undefined || Number.isNaN(Number(value)) ? "n/a" : `${(Number(value) * 100).toFixed(2)} %`;
}

async function load() {
  try {
    const body = await FL.api("/api/v1/slos");
    const slos = Array.isArray(body.data) ? body.data : (body.data && body.data.slos) || [];
    const tbody = document.getElementById("slos");
    tbody.replaceChildren();
    for (const slo of slos) {
      const rates = Object.entries(slo.burn_rates || {}).map(([w, r]) => `${w}: ${r === null ? "n/a" : Number(r).toFixed(2)}×`).join(" · ");
      tbody.append(FL.el("tr", {}, FL.el("td", {}, slo.name), FL.el("td", {}, slo.service || ""),
        FL.el("td", {}, percent(slo.objective)), FL.el("td", {}, slo.window || ""),
        FL.el("td", {}, percent(slo.error_budget_remaining)), FL.el("td", {}, rates)));
    }
    if (!slos.length) tbody.append(FL.el("tr", {}, FL.el("td", { colspan: "6", class: "muted" }, "No SLOs configured.")));
  } catch (err) { FL.showError(err); }
}

load();
