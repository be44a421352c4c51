"use strict";
// Labels come from the server's translation catalogue (`/i18n/<lang>.json`, the same texts as
// the web application and the API's problem titles): the page shows no raw code.
let LABELS = { labels: {}, offices: {} };
const FIGURES = ["applications", "children", "foreigners", "interviews", "files_submitted", "files_returned", "granted", "refused",
  "certificates_handed_over", "needs_assessments", "rehabilitation_plans", "shelter_placements", "payments", "deadlines_missed",
  "median_days_to_decision", "pending_decision", "open_cases", "overdue"];
const DISTRICT_FIGURES = ["applications", "granted", "refused", "pending_decision", "open_cases", "overdue"];
let lang = sessionStorage.getItem("ptl.lang") || ((navigator.language || "uk").startsWith("en") ? "en" : "uk");
const t = (k) => LABELS.labels["dashboard-" + k] || LABELS.labels["figure-" + k] || k;
const label = (family, code) => (code === null || code === undefined ? "—" : LABELS.labels[family + "-" + code] || code);
const officeName = (code) => LABELS.offices[code] || code;
// A deadline's name is its kind, or `verification_reply:<request id>` for a verification reply.
const deadlineName = (name) => label("deadline", String(name).split(":")[0]);
// Dates as people write them: дд.мм.рррр in Ukrainian, dd/mm/yyyy in English; a month as мм.рррр.
function day(iso) {
  if (!iso) return "—";
  const [y, m, d] = String(iso).slice(0, 10).split("-");
  const sep = lang === "uk" ? "." : "/";
  return d ? [d, m, y].join(sep) : [m, y].join(sep);
}

async function loadLabels() {
  const r = await fetch("/i18n/" + lang + ".json");
  if (r.ok) LABELS = await r.json();
}

// The token comes from the URL fragment (never sent to the server in a URL) or the form, and is
// kept in session storage only.
(function takeToken() {
  const m = location.hash.match(/token=([^&]+)/);
  if (m) {
    sessionStorage.setItem("ptl.token", decodeURIComponent(m[1]));
    history.replaceState(null, "", location.pathname + location.search);
  }
})();

function el(tag, attrs, text) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}
const show = (v) => (v === null || v === undefined ? "—" : String(v));

async function api(path) {
  const token = sessionStorage.getItem("ptl.token");
  const r = await fetch(path, { headers: { "Authorization": "Bearer " + token, "Accept-Language": lang } });
  const body = await r.json();
  if (!r.ok) throw new Error((body && (body.title + ": " + body.detail)) || r.status);
  return body;
}

function applyLabels() {
  document.documentElement.lang = lang;
  document.querySelectorAll("[data-i18n]").forEach((e) => { e.textContent = t(e.getAttribute("data-i18n")); });
}

function renderTotals(stats) {
  document.getElementById("office").textContent = officeName(stats.office);
  document.getElementById("period").textContent = day(stats.from) + " – " + day(stats.to);
  const box = document.getElementById("totals");
  box.replaceChildren();
  for (const f of FIGURES) {
    const card = el("div", { class: "card" });
    card.append(el("div", { class: "v", "data-figure": f }, show(stats.totals[f])), el("div", { class: "l" }, t(f)));
    box.append(card);
  }
}

function renderDistricts(stats) {
  const table = document.getElementById("districts");
  const head = el("tr");
  head.append(el("th", {}, t("office")));
  DISTRICT_FIGURES.forEach((f) => head.append(el("th", {}, t(f))));
  table.tHead.replaceChildren(head);
  const body = table.tBodies[0];
  body.replaceChildren();
  for (const g of stats.groups) {
    const row = el("tr", { "data-office": g.key });
    row.append(el("td", {}, officeName(g.key)));
    DISTRICT_FIGURES.forEach((f) => row.append(el("td", { "data-figure": f }, show(g[f]))));
    body.append(row);
  }
}

function renderTrend(stats) {
  const ns = "http://www.w3.org/2000/svg";
  const groups = stats.groups;
  const w = Math.max(320, groups.length * 48), h = 160, max = Math.max(1, ...groups.map((g) => g.applications || 0));
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("width", w); svg.setAttribute("height", h + 30); svg.setAttribute("role", "img");
  // The chart's text alternative: its title and every month's figure (WCAG 1.1.1).
  svg.setAttribute("aria-label", t("trend") + ": " + groups.map((g) => g.key.slice(0, 7) + " " + show(g.applications)).join(", "));
  groups.forEach((g, i) => {
    const v = g.applications || 0, bh = Math.round((v / max) * h);
    const rect = document.createElementNS(ns, "rect");
    rect.setAttribute("x", i * 48 + 8); rect.setAttribute("y", h - bh); rect.setAttribute("width", 32); rect.setAttribute("height", bh);
    rect.setAttribute("fill", "#2f6fad"); rect.setAttribute("data-month", g.key); rect.setAttribute("data-value", v);
    const month = document.createElementNS(ns, "text");
    month.setAttribute("x", i * 48 + 8); month.setAttribute("y", h + 14); month.textContent = day(g.key.slice(0, 7));
    const value = document.createElementNS(ns, "text");
    value.setAttribute("x", i * 48 + 14); value.setAttribute("y", Math.max(12, h - bh - 4)); value.textContent = show(g.applications);
    svg.append(rect, month, value);
  });
  document.getElementById("trend").replaceChildren(svg);
}

function renderOverdue(list) {
  const table = document.getElementById("overdue");
  const head = el("tr");
  ["case", "deadline", "due_on", "office"].forEach((k) => head.append(el("th", {}, t(k))));
  table.tHead.replaceChildren(head);
  const body = table.tBodies[0];
  body.replaceChildren();
  for (const d of list.items) {
    const row = el("tr", { "data-deadline": d.name });
    row.append(el("td", {}, d.register_no || d.case_id), el("td", {}, deadlineName(d.name)), el("td", {}, day(d.due_on)), el("td", {}, officeName(d.office)));
    body.append(row);
  }
}

function renderUpcoming(list) {
  const table = document.getElementById("upcoming");
  const head = el("tr");
  ["register_no", "office", "stage", "next_due_on"].forEach((k) => head.append(el("th", {}, t(k))));
  table.tHead.replaceChildren(head);
  const body = table.tBodies[0];
  body.replaceChildren();
  for (const c of list.items) {
    const row = el("tr", { "data-upcoming": c.case_id });
    row.append(el("td", {}, c.register_no), el("td", {}, officeName(c.office)), el("td", {}, label("stage", c.stage)), el("td", {}, day(c.next_due_on)));
    body.append(row);
  }
}

async function load() {
  try { await loadLabels(); } catch (e) { /* the page still works, with the codes */ }
  applyLabels();
  const token = sessionStorage.getItem("ptl.token");
  document.getElementById("login").style.display = token ? "none" : "block";
  if (!token) return;
  try {
    const totals = await api("/api/v1/stats");
    renderTotals(totals);
    renderDistricts(await api("/api/v1/stats?group_by=office&from=" + totals.from + "&to=" + totals.to));
    renderTrend(await api("/api/v1/stats?group_by=month&from=" + totals.from + "&to=" + totals.to));
    renderUpcoming(await api("/api/v1/cases?upcoming=true&limit=50"));
    renderOverdue(await api("/api/v1/deadlines?state=missed&limit=50"));
    document.getElementById("error").textContent = "";
    document.body.setAttribute("data-loaded", "true");
  } catch (e) {
    document.getElementById("error").textContent = String(e.message || e);
  }
}

document.getElementById("login-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  sessionStorage.setItem("ptl.token", document.getElementById("token").value.trim());
  load();
});
document.getElementById("logout").addEventListener("click", () => { sessionStorage.removeItem("ptl.token"); location.reload(); });
document.getElementById("lang-uk").addEventListener("click", () => { lang = "uk"; sessionStorage.setItem("ptl.lang", lang); load(); });
document.getElementById("lang-en").addEventListener("click", () => { lang = "en"; sessionStorage.setItem("ptl.lang", lang); load(); });
load();
