"use strict";
const LABELS = {
  uk: { title: "PTL: статус особи, яка постраждала від торгівлі людьми", logout: "Вийти", login: "Вхід", open: "Відкрити",
        totals: "Показники", by_district: "За районами", trend: "Динаміка за місяцями (заяви)", overdue_deadlines: "Прострочені строки", upcoming_deadlines: "Найближчі строки", register_no: "Реєстр. №", stage: "Етап", next_due_on: "Найближчий строк",
        applications: "Заяви", children: "Діти", foreigners: "Іноземці", interviews: "Співбесіди", files_submitted: "Справи подано",
        files_returned: "Повернуто на доопрацювання", granted: "Статус встановлено", refused: "Відмовлено", certificates_handed_over: "Довідки видано",
        needs_assessments: "Оцінки потреб", rehabilitation_plans: "Плани реабілітації", shelter_placements: "Влаштування у притулок",
        payments: "Виплати", deadlines_missed: "Пропущені строки", median_days_to_decision: "Медіана днів до рішення",
        pending_decision: "Очікують рішення", open_cases: "Відкриті справи", overdue: "Прострочені", office: "Установа",
        case: "Справа", deadline: "Строк", due_on: "Дата", suppressed: "приховано" },
  en: { title: "PTL: status of persons who suffered from human trafficking", logout: "Sign out", login: "Sign in", open: "Open",
        totals: "Figures", by_district: "By district", trend: "Monthly trend (applications)", overdue_deadlines: "Overdue deadlines", upcoming_deadlines: "Upcoming deadlines", register_no: "Register no.", stage: "Stage", next_due_on: "Next due",
        applications: "Applications", children: "Children", foreigners: "Foreigners", interviews: "Interviews", files_submitted: "Files submitted",
        files_returned: "Files returned", granted: "Statuses granted", refused: "Refused", certificates_handed_over: "Certificates handed over",
        needs_assessments: "Needs assessments", rehabilitation_plans: "Rehabilitation plans", shelter_placements: "Shelter placements",
        payments: "Payments", deadlines_missed: "Deadlines missed", median_days_to_decision: "Median days to decision",
        pending_decision: "Pending at the deciding authority", open_cases: "Open cases", overdue: "Overdue", office: "Office",
        case: "Case", deadline: "Deadline", due_on: "Due", suppressed: "suppressed" }
};
const FIGURES = ["applications", "children", "foreigners", "interviews", "files_submitted", "files_returned", "granted", "refused",
  "certificates_handed_over", "needs_assessments", "rehabilitation_plans", "shelter_placements", "payments", "deadlines_missed",
  "median_days_to_decision", "pending_decision", "open_cases", "overdue"];
const DISTRICT_FIGURES = ["applications", "granted", "refused", "pending_decision", "open_cases", "overdue"];
let lang = sessionStorage.getItem("ptl.lang") || ((navigator.language || "uk").startsWith("en") ? "en" : "uk");
const t = (k) => (LABELS[lang] && LABELS[lang][k]) || k;

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
  document.getElementById("office").textContent = stats.office;
  document.getElementById("period").textContent = stats.from + " – " + stats.to;
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
    row.append(el("td", {}, g.key));
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
    const label = document.createElementNS(ns, "text");
    label.setAttribute("x", i * 48 + 8); label.setAttribute("y", h + 14); label.textContent = g.key.slice(0, 7);
    const value = document.createElementNS(ns, "text");
    value.setAttribute("x", i * 48 + 14); value.setAttribute("y", Math.max(12, h - bh - 4)); value.textContent = show(g.applications);
    svg.append(rect, label, value);
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
    row.append(el("td", {}, d.case_id), el("td", {}, d.name), el("td", {}, d.due_on), el("td", {}, d.office));
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
    row.append(el("td", {}, c.register_no), el("td", {}, c.office), el("td", {}, c.stage), el("td", {}, show(c.next_due_on)));
    body.append(row);
  }
}

async function load() {
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
