// The DevFlowFix dashboard: plain DOM code over the public API.
// Every value from the API is put on the page as text, never as markup.
"use strict";

const TOKEN_KEY = "devflowfix.token";
const state = { search: null, jobsTimer: null, page: 1 };

function $(selector) {
  return document.querySelector(selector);
}

function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (name === "class") node.className = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value);
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

function notify(message, kind = "error") {
  const box = $("#notice");
  box.textContent = message;
  box.className = `notice ${kind === "info" ? "info" : ""}`;
  box.hidden = !message;
}

class ApiError extends Error {
  constructor(status, body) {
    super((body && body.message) || `The server answered ${status}.`);
    this.status = status;
    this.body = body;
  }
}

async function api(path, { method = "GET", body, form } = {}) {
  const headers = { Accept: "application/json" };
  if (token()) headers.Authorization = `Bearer ${token()}`;
  let payload;
  if (form) {
    payload = new URLSearchParams(form);
  } else if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  }
  const response = await fetch(path, { method, headers, body: payload });
  if (response.status === 401 && token()) {
    signOut("Your session has ended; sign in again.");
  }
  if (!response.ok) {
    let envelope = null;
    try {
      envelope = await response.json();
    } catch (ignored) {
      envelope = null;
    }
    throw new ApiError(response.status, envelope);
  }
  return response;
}

async function apiJson(path, options) {
  const response = await api(path, options);
  return response.status === 204 ? null : response.json();
}

function when(value) {
  return value ? new Date(value).toLocaleString() : "";
}

function badge(value) {
  return el("span", { class: `badge ${value}` }, value);
}

function filename(response, fallback) {
  const header = response.headers.get("Content-Disposition") || "";
  const match = header.match(/filename="([^"]+)"/);
  return match ? match[1] : fallback;
}

async function saveDownload(response, fallback) {
  const blob = await response.blob();
  const url = URL.createObjectURL(blob);
  const link = el("a", { href: url, download: filename(response, fallback) });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

// Sign-in -----------------------------------------------------------------

async function signIn(event) {
  event.preventDefault();
  const form = new FormData(event.target);
  try {
    const answer = await apiJson("/api/v1/auth/token", {
      method: "POST",
      form: { username: form.get("username"), password: form.get("password") },
    });
    sessionStorage.setItem(TOKEN_KEY, answer.access_token);
    notify("");
    location.hash = "#/incidents";
    await showUser();
    route();
  } catch (error) {
    notify(error.message);
  }
}

function signOut(message = "") {
  sessionStorage.removeItem(TOKEN_KEY);
  clearInterval(state.jobsTimer);
  $("#who").textContent = "";
  $("#nav").hidden = true;
  $("#sign-out").hidden = true;
  location.hash = "#/sign-in";
  notify(message, "info");
}

async function showUser() {
  const me = await apiJson("/api/v1/auth/me");
  $("#who").textContent = `${me.email} · ${me.team} · ${me.role}`;
  $("#nav").hidden = false;
  $("#sign-out").hidden = false;
}

// Incidents ---------------------------------------------------------------

function searchFromForm() {
  const form = new FormData($("#search-form"));
  const request = { page: 1, page_size: 25, highlight: true };
  const text = form.get("search_query").trim();
  if (text) request.search_query = text;
  for (const [field, list] of [
    ["severity", "severities"],
    ["source", "sources"],
    ["outcome", "outcomes"],
  ]) {
    if (form.get(field)) request[list] = [form.get(field)];
  }
  if (form.get("date_preset")) request.date_preset = form.get("date_preset");
  request.sort_by = form.get("sort_by");
  if (request.sort_by === "relevance" && !text) request.sort_by = "created_at";
  return request;
}

function highlighted(fragment) {
  // Fragments are escaped text with <mark> around the matched words.
  const entities = { "&amp;": "&", "&lt;": "<", "&gt;": ">", "&quot;": '"', "&#x27;": "'", "&#39;": "'" };
  const decode = (text) => text.replace(/&(amp|lt|gt|quot|#x27|#39);/g, (entity) => entities[entity]);
  const node = el("span");
  fragment.split(/(<mark>.*?<\/mark>)/).forEach((part) => {
    if (part.startsWith("<mark>")) node.append(el("mark", {}, decode(part.slice(6, -7))));
    else node.append(decode(part));
  });
  return node;
}

function incidentRow(incident) {
  const fragments = incident.highlights && incident.highlights.error_message;
  const error = fragments && fragments.length ? highlighted(fragments[0]) : incident.error_message;
  const confidence = incident.confidence === null ? "" : `${Math.round(incident.confidence * 100)} %`;
  return el(
    "tr",
    {},
    el("td", {}, el("a", { href: `#/incidents/${incident.incident_id}` }, incident.incident_id)),
    el("td", {}, when(incident.created_at)),
    el("td", {}, badge(incident.severity)),
    el("td", {}, incident.source),
    el("td", {}, incident.failure_type),
    el("td", { class: "error" }, error),
    el("td", {}, badge(incident.outcome)),
    el("td", {}, confidence),
  );
}

async function runSearch(body) {
  try {
    const answer = await apiJson("/api/v1/incidents/search", { method: "POST", body });
    state.search = { request: body, answer };
    const rows = answer.incidents.map(incidentRow);
    $("#results").replaceChildren(...rows);
    const pages = answer.pagination;
    const total = pages.total_items_relation === "gte" ? `${pages.total_items}+` : pages.total_items;
    $("#summary").textContent = `${total} incidents · ${answer.summary.search_duration_ms} ms`;
    $("#page-label").textContent = `Page ${pages.current_page} of ${pages.total_pages}`;
    $("#previous-page").disabled = !pages.previous_cursor;
    $("#next-page").disabled = !pages.next_cursor;
    notify("");
  } catch (error) {
    notify(error.message);
  }
}

function turnPage(direction) {
  const pages = state.search && state.search.answer.pagination;
  const cursor = pages && (direction > 0 ? pages.next_cursor : pages.previous_cursor);
  if (cursor) runSearch({ cursor });
}

async function exportIncidents(format) {
  const request = state.search ? state.search.request : searchFromForm();
  const query = new URLSearchParams({ format, limit: "1000" });
  for (const [field, list] of [["severity", "severities"], ["source", "sources"], ["outcome", "outcomes"]]) {
    for (const value of request[list] || []) query.append(field, value);
  }
  if (request.search_query) query.set("search_query", request.search_query);
  if (request.date_preset) query.set("date_preset", request.date_preset);
  try {
    const response = await api(`/api/v1/incidents/export?${query}`);
    const type = response.headers.get("Content-Type") || "";
    if (type.includes("application/json")) {
      const answer = await response.json();
      notify(`${answer.message}. Follow it on the Jobs page.`, "info");
      location.hash = "#/jobs";
    } else {
      await saveDownload(response, `incidents.${format}`);
    }
  } catch (error) {
    notify(error.message);
  }
}

async function showIncident(incidentId) {
  try {
    const incident = await apiJson(`/api/v1/incidents/${encodeURIComponent(incidentId)}`);
    $("#incident-title").textContent = `${incident.incident_id}: ${incident.error_message}`;
    const fields = [
      ["Severity", incident.severity], ["Outcome", incident.outcome],
      ["Failure type", incident.failure_type], ["Source", incident.source],
      ["Repository", incident.repository], ["Branch", incident.branch],
      ["Workflow", incident.workflow], ["Job", incident.job],
      ["Commit", incident.commit_sha], ["Happened", when(incident.timestamp)],
      ["Resolved", when(incident.resolved_at)],
      ["Confidence", incident.confidence === null ? "" : incident.confidence],
      ["Tags", (incident.tags || []).join(", ")],
    ];
    $("#incident-fields").replaceChildren(
      ...fields.flatMap(([name, value]) => [el("dt", {}, name), el("dd", {}, value || "")]),
    );
    $("#incident-root-cause").textContent = incident.root_cause || "Not analysed yet.";
    $("#incident-fix").textContent = incident.suggested_fix || "";
    const similar = (incident.analysis.similar_incidents || []).map((item) =>
      el("li", {}, el("a", { href: `#/incidents/${item.incident_id}` }, item.incident_id),
        item.score !== undefined ? ` (score ${item.score})` : ""),
    );
    $("#incident-similar").replaceChildren(...(similar.length ? similar : [el("li", {}, "None found.")]));
    $("#incident-log").textContent = incident.error_log || "";
  } catch (error) {
    notify(error.message);
  }
}

// Jobs --------------------------------------------------------------------

function progressBar(job) {
  const bar = el("div", { class: "progress", title: `${job.progress} %` }, el("span"));
  bar.firstChild.style.width = `${job.progress}%`;
  return bar;
}

function jobActions(job) {
  const actions = el("td");
  if (job.status === "queued" || job.status === "processing") {
    actions.append(el("button", { class: "secondary", onclick: () => jobAction(job, "cancel") }, "Cancel"));
  } else {
    if (job.result_url) {
      actions.append(el("button", { class: "secondary", onclick: () => downloadJob(job) }, "Download"), " ");
    }
    actions.append(el("button", { class: "secondary", onclick: () => jobAction(job, "delete") }, "Delete"));
  }
  return actions;
}

async function jobAction(job, action) {
  try {
    if (action === "cancel") await api(`/api/v1/jobs/${job.job_id}/cancel`, { method: "POST" });
    else await api(`/api/v1/jobs/${job.job_id}`, { method: "DELETE" });
    await showJobs();
  } catch (error) {
    notify(error.message);
  }
}

async function downloadJob(job) {
  try {
    await saveDownload(await api(`/api/v1/jobs/${job.job_id}/download`), `${job.job_id}`);
  } catch (error) {
    notify(error.message);
  }
}

async function showJobs() {
  try {
    const [page, stats] = await Promise.all([
      apiJson("/api/v1/jobs?page_size=50"),
      apiJson("/api/v1/jobs/stats/overview"),
    ]);
    const figures = stats.statistics;
    $("#job-stats").replaceChildren(
      tile("Jobs", figures.total_jobs), tile("Active", figures.active_jobs),
      tile("Completed", figures.by_status.completed || 0), tile("Failed", figures.by_status.failed || 0),
      tile("Success rate", `${figures.success_rate} %`),
    );
    $("#jobs").replaceChildren(...page.jobs.map((job) => el("tr", {},
      el("td", {}, job.job_id), el("td", {}, job.job_type), el("td", {}, badge(job.status)),
      el("td", {}, progressBar(job)), el("td", {}, when(job.created_at)), jobActions(job))));
  } catch (error) {
    notify(error.message);
  }
}

// Analytics ---------------------------------------------------------------

function tile(label, value) {
  return el("div", { class: "tile" }, el("b", {}, value === null ? "–" : value), label);
}

function trendChart(daily) {
  const width = 900, height = 200, pad = 30;
  const top = Math.max(1, ...daily.map((day) => Math.max(day.incidents, day.resolved)));
  const x = (index) => pad + (index * (width - 2 * pad)) / Math.max(1, daily.length - 1);
  const y = (value) => height - pad - (value * (height - 2 * pad)) / top;
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("width", "100%");
  for (const [field, colour] of [["incidents", "#2456c5"], ["resolved", "#067647"]]) {
    const line = document.createElementNS(ns, "polyline");
    line.setAttribute("fill", "none");
    line.setAttribute("stroke", colour);
    line.setAttribute("stroke-width", "2");
    line.setAttribute("points", daily.map((day, index) => `${x(index)},${y(day[field])}`).join(" "));
    svg.append(line);
  }
  for (const [value, label] of [[0, "0"], [top, String(top)]]) {
    const text = document.createElementNS(ns, "text");
    text.setAttribute("x", "2");
    text.setAttribute("y", String(y(value) + 4));
    text.textContent = label;
    svg.append(text);
  }
  return svg;
}

function breakdown(title, counts) {
  const entries = Object.entries(counts).sort((a, b) => b[1] - a[1]);
  const top = Math.max(1, ...entries.map(([, count]) => count));
  const bars = entries.map(([name, count]) => {
    const fill = el("div", { class: "fill" });
    fill.style.width = `${(100 * count) / top}%`;
    return el("div", {}, el("span", {}, name), el("span", {}, fill), el("span", {}, count));
  });
  return el("div", { class: "card" }, el("h2", {}, title), el("div", { class: "bars" }, ...bars));
}

async function showAnalytics(event) {
  if (event) event.preventDefault();
  const days = new FormData($("#analytics-form")).get("days") || "30";
  try {
    const figures = await apiJson(`/api/v1/analytics?days=${encodeURIComponent(days)}`);
    const totals = figures.totals;
    const times = figures.resolution_time_seconds;
    const hours = (seconds) => (seconds === null ? null : `${(seconds / 3600).toFixed(1)} h`);
    $("#analytics-tiles").replaceChildren(
      tile("Incidents", totals.incidents), tile("Resolved", totals.resolved),
      tile("Unresolved", totals.unresolved),
      tile("Success rate", totals.success_rate === null ? null : `${totals.success_rate} %`),
      tile("Median resolution", hours(times.median)), tile("p90 resolution", hours(times.p90)),
    );
    $("#analytics-trend").replaceChildren(trendChart(figures.daily));
    $("#analytics-breakdowns").replaceChildren(
      breakdown("By severity", figures.by_severity), breakdown("By outcome", figures.by_outcome),
      breakdown("By source", figures.by_source), breakdown("By failure type", figures.by_failure_type),
    );
    notify("");
  } catch (error) {
    notify(error.message);
  }
}

async function exportAnalytics(format) {
  const days = new FormData($("#analytics-form")).get("days") || "30";
  try {
    const response = await api(`/api/v1/analytics/export?format=${format}&days=${encodeURIComponent(days)}`);
    await saveDownload(response, `analytics.${format}`);
  } catch (error) {
    notify(error.message);
  }
}

// Pages -------------------------------------------------------------------

function showPage(name) {
  for (const page of document.querySelectorAll(".page")) page.hidden = page.id !== `page-${name}`;
  for (const link of document.querySelectorAll("#nav a")) {
    link.classList.toggle("active", link.dataset.page === name);
  }
}

function route() {
  clearInterval(state.jobsTimer);
  const [, page, detail] = location.hash.split("/");
  if (!token()) {
    showPage("sign-in");
    return;
  }
  if (page === "incidents" && detail) {
    showPage("incident");
    showIncident(decodeURIComponent(detail));
  } else if (page === "jobs") {
    showPage("jobs");
    showJobs();
    state.jobsTimer = setInterval(showJobs, 2000);
  } else if (page === "analytics") {
    showPage("analytics");
    showAnalytics();
  } else {
    showPage("incidents");
    if (!state.search) runSearch(searchFromForm());
  }
}

function start() {
  $("#sign-in-form").addEventListener("submit", signIn);
  $("#sign-out").addEventListener("click", () => signOut());
  $("#search-form").addEventListener("submit", (event) => {
    event.preventDefault();
    runSearch(searchFromForm());
  });
  $("#next-page").addEventListener("click", () => turnPage(1));
  $("#previous-page").addEventListener("click", () => turnPage(-1));
  $("#export-csv").addEventListener("click", () => exportIncidents("csv"));
  $("#export-pdf").addEventListener("click", () => exportIncidents("pdf"));
  $("#analytics-form").addEventListener("submit", showAnalytics);
  $("#analytics-csv").addEventListener("click", () => exportAnalytics("csv"));
  $("#analytics-pdf").addEventListener("click", () => exportAnalytics("pdf"));
  window.addEventListener("hashchange", route);
  if (token()) showUser().catch(() => signOut());
  route();
}

document.addEventListener("DOMContentLoaded", start);
