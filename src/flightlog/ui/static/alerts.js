// Alerts: active alerts with runbook and query links; create a silence from an alert; list and expire silences.
"use strict";

const $ = (id) => document.getElementById(id);

function parseMatchers(text) {
  const matchers = [];
  const pattern = /\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*(?:,|$)/y;
  let match;
  let consumed = 0;
  while ((match = pattern.exec(text)) !== null) {
    const [, name, op, value] = match;
    matchers.push({ name, value: FL.unquote(value), isRegex: op.includes("~"), isEqual: !op.startsWith("!") });
    consumed = pattern.lastIndex;
    if (consumed >= text.length) break;
  }
  if (!matchers.length || text.slice(consumed).trim()) {
    throw new Error('matchers must look like name="value", other=~"regex"');
  }
  return matchers;
}

function matcherText(m) {
  const op = m.isRegex ? (m.isEqual === false ? "!~" : "=~") : (m.isEqual === false ? "!=" : "=");
  return `${m.name}${op}${FL.quote(m.value)}`;
}

function prefillSilence(labels) {
  $("matchers").value = Object.entries(labels).map(([k, v]) => `${k}=${FL.quote(v)}`).join(", ");
  $("comment").focus();
}

async function loadAlerts() {
  const body = await FL.api("/prometheus/api/v1/rules?type=alert");
  const holder = $("alerts");
  holder.replaceChildren();
  let count = 0;
  for (const group of body.data.groups) {
    for (const rule of group.rules) {
      for (const alert of rule.alerts || []) {
        count += 1;
        const severity = alert.labels.severity || "warning";
        const annotations = alert.annotations || {};
        const card = FL.el("div", { class: `card sev-${severity === "critical" || severity === "page" ? "critical" : "warning"}` },
          FL.el("strong", {}, alert.labels.alertname || rule.name), " ",
          FL.el("span", { class: `badge ${alert.state}` }, alert.state),
          FL.el("p", {}, annotations.summary || annotations.description || ""),
          FL.el("p", {}, FL.labelChips(alert.labels)),
          FL.el("p", { class: "muted" }, `active since ${alert.activeAt || "?"} · value ${alert.value ?? ""}`));
        const links = FL.el("p", {});
        if (annotations.runbook_url) links.append(FL.el("a", { href: annotations.runbook_url }, "Runbook"), " · ");
        links.append(FL.el("a", { href: FL.exploreLink(rule.query, "1h") }, "Query in Explore"), " · ",
          FL.el("button", { type: "button", onclick: () => prefillSilence(alert.labels) }, "Silence…"));
        card.append(links);
        holder.append(card);
      }
    }
  }
  if (!count) holder.append(FL.el("p", { class: "muted" }, "Nothing is firing or pending."));
}

async function loadSilences() {
  const silences = await FL.api("/api/v2/silences");
  const tbody = $("silences");
  tbody.replaceChildren();
  for (const s of silences) {
    const state = s.status ? s.status.state : "";
    const actions = FL.el("td", {});
    if (state !== "expired") {
      actions.append(FL.el("button", { type: "button", onclick: () => expire(s.id) }, "Expire"));
    }
    tbody.append(FL.el("tr", { "data-silence-id": s.id, tabindex: "-1" },
      FL.el("td", { class: "logline" }, s.matchers.map(matcherText).join(", ")),
      FL.el("td", {}, FL.el("span", { class: `badge ${state}` }, state)),
      FL.el("td", { class: "ts" }, s.endsAt), FL.el("td", {}, s.comment || ""), actions));
  }
  if (!silences.length) tbody.append(FL.el("tr", {}, FL.el("td", { colspan: "5", class: "muted" }, "No silences.")));
}

async function expire(id) {
  FL.showError(null);
  try {
    await FL.api(`/api/v2/silence/${encodeURIComponent(id)}`, { method: "DELETE" });
    await loadSilences();
    // The list was drawn again and the Expire button is gone: keep the keyboard user's place.
    const row = [...$("silences").querySelectorAll("tr")].find((tr) => tr.dataset.silenceId === id);
    if (row) row.focus();
  } catch (err) { FL.showError(err); }
}

async function createSilence(event) {
  event.preventDefault();
  FL.showError(null);
  try {
    const matchers = parseMatchers($("matchers").value);
    const seconds = FL.parseDuration($("duration").value);
    const now = new Date();
    await FL.api("/api/v2/silences", {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ matchers, startsAt: now.toISOString(), endsAt: new Date(now.getTime() + seconds * 1000).toISOString(),
        createdBy: $("created-by").value || "ui", comment: $("comment").value }),
    });
    $("silence-form").reset();
    await loadSilences();
  } catch (err) { FL.showError(err); }
}

$("silence-form").addEventListener("submit", createSilence);
Promise.all([loadAlerts(), loadSilences()]).catch((err) => FL.showError(err));
