// The dashboard's pages: one shell, one script, plain DOM. Each page polls its JSON API so that it stays live.
"use strict";

const main = document.getElementById("main");
const params = new URLSearchParams(location.search);
const levels = [["", "All levels"], [1, "Trace"], [5, "Debug"], [9, "Information"], [13, "Warning"], [17, "Error"], [21, "Critical"]];
const colors = ["#5b3fd6", "#0f7b3f", "#c4262e", "#a15c00", "#0b6fa4", "#8e2d8e", "#2d6b6b", "#6b6b20"];

const h = value => String(value ?? "").replace(/[&<>"']/g, c => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
const time = ns => new Date(ns / 1e6).toLocaleTimeString([], { hour12: false }) + "." + String(Math.floor(ns / 1e6) % 1000).padStart(3, "0");
const dateTime = ns => new Date(ns / 1e6).toLocaleString([], { hour12: false });
const levelName = severity => severity >= 21 ? "Critical" : severity >= 17 ? "Error" : severity >= 13 ? "Warning" : severity >= 9 ? "Information" : severity >= 5 ? "Debug" : "Trace";
// Console output keeps its ANSI colours (DOTNET_SYSTEM_CONSOLE_ALLOW_ANSI_COLOR_REDIRECTION): the SGR codes for
// colour, bold and reset become styled spans; any other escape sequence is left out.
const ansiColors = ["#15141c", "#ff6b6b", "#6bd968", "#f2c14e", "#6ea8ff", "#d787ff", "#5fd7d7", "#e6e6ea"];
function ansi(text) {
  let out = "", color = null, background = null, bold = false;
  for (const part of text.split(/(\x1b\[[0-9;]*m)/)) {
    const codes = part.match(/^\x1b\[([0-9;]*)m$/);
    if (!codes) {
      if (!part) continue;
      const style = [color && `color:${color}`, background && `background:${background}`, bold && "font-weight:700"].filter(Boolean).join(";");
      out += style ? `<span style="${style}">${h(part)}</span>` : h(part);
      continue;
    }
    for (const code of (codes[1] || "0").split(";").map(Number)) {
      if (code === 0) { color = background = null; bold = false; }
      else if (code === 1) bold = true;
      else if (code === 22) bold = false;
      else if (code >= 30 && code <= 37) color = ansiColors[code - 30];
      else if (code >= 90 && code <= 97) color = ansiColors[code - 90];
      else if (code === 39) color = null;
      else if (code >= 40 && code <= 47) background = code === 40 ? null : ansiColors[code - 40];
      else if (code === 49) background = null;
    }
  }
  return out;
}
const spanKinds = ["Unspecified", "Internal", "Server", "Client", "Producer", "Consumer"];
const duration = ms => ms >= 1000 ? (ms / 1000).toFixed(2) + " s" : ms.toFixed(ms < 10 ? 2 : 0) + " ms";

async function api(path, options) {
  const response = await fetch(path, options);
  if (response.status === 401) {
    main.innerHTML = "<p>Your session ended: open the login link the AppHost printed.</p>";
    throw new Error("unauthorized");
  }
  if (!response.ok) throw new Error(`${path}: ${response.status}`);
  return response.status === 204 || response.status === 202 ? null : response.json();
}

// Runs fn now and every `ms`, one call at a time.
function every(ms, fn) {
  let stopped = false;
  (async function loop() {
    while (!stopped) {
      try { await fn(); } catch (e) { if (e.message === "unauthorized") return; console.warn(e); }
      await new Promise(resolve => setTimeout(resolve, ms));
    }
  })();
  return () => { stopped = true; };
}

async function resourceNames() {
  return (await api("/api/resources")).map(r => r.name);
}

function options(values, selected) {
  return values.map(([value, label]) => `<option value="${h(value)}" ${String(value) === String(selected ?? "") ? "selected" : ""}>${h(label)}</option>`).join("");
}

function keyValues(object) {
  const entries = Object.entries(object ?? {});
  if (entries.length === 0) return `<p class="muted">None.</p>`;
  return `<table class="kv">${entries.map(([k, v]) => `<tr><td>${h(k)}</td><td>${h(typeof v === "object" ? JSON.stringify(v) : v)}</td></tr>`).join("")}</table>`;
}

// ---- Resources -------------------------------------------------------------------------------------------------
async function resourcesPage() {
  main.innerHTML = `<h1>Resources</h1><table id="resources"><thead><tr><th>Type</th><th>Name</th><th>State</th><th>Start time</th>
    <th>Exit code</th><th>Endpoints</th><th>Actions</th></tr></thead><tbody></tbody></table><div id="details"></div>`;
  let open = params.get("resource");
  const body = main.querySelector("tbody");
  main.addEventListener("click", async event => {
    const button = event.target.closest("button[data-action]");
    if (button) {
      button.disabled = true;
      await api(`/api/resources/${encodeURIComponent(button.dataset.name)}/${button.dataset.action}`, { method: "POST" }).catch(console.warn);
      return;
    }
    const details = event.target.closest("a[data-details]");
    if (details) {
      event.preventDefault();
      open = details.dataset.details;
      await showDetails(open);
    }
  });
  every(1500, async () => {
    const resources = await api("/api/resources");
    body.innerHTML = resources.map(r => `<tr data-resource="${h(r.name)}">
      <td>${h(r.type)}</td>
      <td><strong>${h(r.name)}</strong></td>
      <td><span class="state ${h(r.state)} ${r.health === "Unhealthy" ? "Unhealthy" : ""}">${h(r.displayState)}</span>
        ${r.errorCount > 0 ? `<a class="badge" title="Errors in its structured logs" href="/structuredlogs?resource=${encodeURIComponent(r.name)}&level=17">${r.errorCount}</a>` : ""}
        ${r.reason ? `<div class="muted">${h(r.reason)}</div>` : ""}</td>
      <td>${r.startTime ? h(new Date(r.startTime).toLocaleString([], { hour12: false })) : ""}</td>
      <td>${r.exitCode ?? ""}</td>
      <td>${r.endpoints.map(e => `<a href="${h(e)}" target="_blank" rel="noopener">${h(e)}</a>`).join("<br>")}</td>
      <td>${r.actions.map(a => `<button data-action="${a}" data-name="${h(r.name)}">${a[0].toUpperCase() + a.slice(1)}</button>`).join("")}
        <a href="/consolelogs?resource=${encodeURIComponent(r.name)}">Console</a> ·
        <a href="#" data-details="${h(r.name)}">Details</a></td></tr>`).join("");
    if (open) await showDetails(open);
  });
}

async function showDetails(name) {
  const d = await api(`/api/resources/${encodeURIComponent(name)}`);
  const env = d.environment.length === 0 ? `<p class="muted">None.</p>` :
    `<table class="kv">${d.environment.map(v => `<tr><td>${h(v.name)}</td><td>${h(v.value)}${v.masked ? ' <span class="chip">masked</span>' : ""}</td></tr>`).join("")}</table>`;
  const health = d.healthReports.length === 0 ? `<p class="muted">No health checks.</p>` :
    `<table><tr><th>Check</th><th>Status</th><th>Description</th></tr>${d.healthReports.map(r => `<tr><td>${h(r.name)}</td><td class="state ${h(r.status)}">${h(r.status)}</td><td>${h(r.description)}</td></tr>`).join("")}</table>`;
  document.getElementById("details").innerHTML = `<div class="details"><h2>${h(name)}</h2>
    <p><strong>State</strong> ${h(d.resource.displayState)}${d.parent ? ` · <strong>Parent</strong> ${h(d.parent)}` : ""}
    · <strong>References</strong> ${d.references.map(h).join(", ") || "none"} · <strong>Waits for</strong> ${d.waitsFor.map(h).join(", ") || "nothing"}</p>
    <h2>Health</h2>${health}<h2>Environment</h2>${env}</div>`;
}

// ---- Console logs ----------------------------------------------------------------------------------------------
async function consolePage() {
  const fromPath = location.pathname.match(/^\/consolelogs\/resource\/([^/]+)/);
  const selected = fromPath ? decodeURIComponent(fromPath[1]) : params.get("resource") ?? "";
  const names = await resourceNames();
  main.innerHTML = `<h1>Console logs</h1><div class="filters"><label>Resource<select id="resource">
    ${options([["", "All resources"], ...names.map(n => [n, n])], selected)}</select></label></div><pre class="console" id="console"></pre>`;
  document.getElementById("resource").addEventListener("change", e =>
    location.href = "/consolelogs" + (e.target.value ? `?resource=${encodeURIComponent(e.target.value)}` : ""));
  const output = document.getElementById("console");
  let after = null;
  every(1000, async () => {
    const query = new URLSearchParams();
    if (selected) query.set("resource", selected);
    if (after !== null) query.set("after", after);
    const lines = await api("/api/console?" + query);
    if (lines.length === 0) return;
    const atBottom = output.scrollTop + output.clientHeight >= output.scrollHeight - 20;
    output.insertAdjacentHTML("beforeend", lines.map(l =>
      `<span class="${l.isError ? "err" : ""}">${selected ? "" : `<span class="prefix">${h(l.resource.padEnd(10))}| </span>`}${ansi(l.text)}</span>\n`).join(""));
    after = lines[lines.length - 1].id;
    if (atBottom || lines.length === output.childElementCount) output.scrollTop = output.scrollHeight;
  });
}

// ---- Structured logs -------------------------------------------------------------------------------------------
async function logsPage() {
  const names = await resourceNames();
  main.innerHTML = `<h1>Structured logs</h1><div class="filters">
    <label>Resource<select id="resource">${options([["", "All resources"], ...names.map(n => [n, n])], params.get("resource"))}</select></label>
    <label>Level<select id="level">${options(levels, params.get("level"))}</select></label>
    <label>Text<input id="text" value="${h(params.get("text"))}" placeholder="message or attribute"></label>
    <label>From<input id="from" type="datetime-local" step="1" value="${h(params.get("from"))}"></label>
    <label>To<input id="to" type="datetime-local" step="1" value="${h(params.get("to"))}"></label>
    <label>Trace<input id="traceId" value="${h(params.get("traceId"))}" placeholder="trace id"></label>
    <button id="apply">Filter</button></div>
    <table><thead><tr><th>Time</th><th>Resource</th><th>Level</th><th>Message</th><th>Trace</th></tr></thead><tbody id="logs"></tbody></table>
    <div id="entry"></div>`;
  document.getElementById("apply").addEventListener("click", () => {
    const query = new URLSearchParams();
    for (const id of ["resource", "level", "text", "from", "to", "traceId"]) {
      const value = document.getElementById(id).value;
      if (value) query.set(id, value);
    }
    location.href = "/structuredlogs?" + query;
  });
  const filter = new URLSearchParams();
  for (const key of ["resource", "level", "text", "traceId"]) if (params.get(key)) filter.set(key, params.get(key));
  for (const key of ["from", "to"]) if (params.get(key)) filter.set(key, String(new Date(params.get(key)).getTime() * 1e6));
  const body = document.getElementById("logs");
  const entries = new Map();
  let newest = null;
  body.addEventListener("click", event => {
    const row = event.target.closest("tr[data-id]");
    if (!row || event.target.closest("a")) return;
    const entry = entries.get(Number(row.dataset.id));
    document.getElementById("entry").innerHTML = `<div class="details"><h2>${h(levelName(entry.severity))} · ${h(entry.category)}</h2>
      <p>${h(entry.message)}</p><p class="muted">${h(dateTime(entry.timeNs))}${entry.traceId ? ` · trace <a href="/traces/detail/${entry.traceId}">${entry.traceId}</a>` : ""}</p>
      ${keyValues(JSON.parse(entry.attributes))}</div>`;
  });
  every(1500, async () => {
    const query = new URLSearchParams(filter);
    if (newest !== null) query.set("after", newest);
    const logs = await api("/api/logs?" + query);
    if (logs.length === 0) return;
    logs.forEach(l => entries.set(l.id, l));
    newest = Math.max(newest ?? 0, ...logs.map(l => l.id));
    body.insertAdjacentHTML("afterbegin", logs.map(l => `<tr class="clickable" data-id="${l.id}">
      <td>${h(time(l.timeNs))}</td><td>${h(l.resource)}</td><td class="level-${levelName(l.severity)}">${levelName(l.severity)}</td>
      <td>${h(l.message)}<div class="muted">${h(l.category)}</div></td>
      <td>${l.traceId ? `<a href="/traces/detail/${l.traceId}">${l.traceId.slice(0, 7)}</a>` : ""}</td></tr>`).join(""));
  });
}

// ---- Traces ----------------------------------------------------------------------------------------------------
async function tracesPage() {
  const names = await resourceNames();
  main.innerHTML = `<h1>Traces</h1><div class="filters">
    <label>Resource<select id="resource">${options([["", "All resources"], ...names.map(n => [n, n])], params.get("resource"))}</select></label>
    <label>Name or trace id<input id="text" value="${h(params.get("text"))}"></label><button id="apply">Filter</button></div>
    <table><thead><tr><th>Time</th><th>Name</th><th>Resources</th><th>Spans</th><th>Duration</th></tr></thead><tbody id="traces"></tbody></table>`;
  document.getElementById("apply").addEventListener("click", () => {
    const query = new URLSearchParams();
    for (const id of ["resource", "text"]) if (document.getElementById(id).value) query.set(id, document.getElementById(id).value);
    location.href = "/traces?" + query;
  });
  const query = new URLSearchParams({ limit: 100 });
  for (const key of ["resource", "text"]) if (params.get(key)) query.set(key, params.get(key));
  const body = document.getElementById("traces");
  every(2000, async () => {
    const traces = await api("/api/traces?" + query);
    body.innerHTML = traces.map(t => `<tr data-trace="${t.traceId}">
      <td>${h(time(t.startNs))}</td>
      <td><a href="/traces/detail/${t.traceId}">${h(t.rootResource ?? "")}: ${h(t.rootName ?? "(root span not received)")}</a>
        ${t.errorCount > 0 ? `<span class="error-mark" title="${t.errorCount} span(s) with an error">● error</span>` : ""}
        <span class="muted">${t.traceId.slice(0, 7)}</span></td>
      <td>${t.resources.map(r => `<span class="chip">${h(r)}</span>`).join("")}</td>
      <td>${t.spanCount}</td><td>${duration(t.durationMs)}</td></tr>`).join("");
  });
}

// Gen AI spans: the model, its tokens and the time to the first token, as chips beside the span's name.
function chatChips(attributes) {
  const chips = [];
  const model = attributes["gen_ai.response.model"] ?? attributes["gen_ai.request.model"];
  if (model) chips.push(`model ${model}`);
  if (attributes["gen_ai.usage.input_tokens"] !== undefined) chips.push(`in ${attributes["gen_ai.usage.input_tokens"]} tokens`);
  if (attributes["gen_ai.usage.output_tokens"] !== undefined) chips.push(`out ${attributes["gen_ai.usage.output_tokens"]} tokens`);
  if (attributes["chatbackend.time_to_first_token_ms"] !== undefined) chips.push(`first token ${attributes["chatbackend.time_to_first_token_ms"]} ms`);
  return chips.map(c => `<span class="chip">${h(c)}</span>`).join("");
}

// Live: spans that arrive later (each resource exports on its own schedule) are drawn as they come.
async function traceDetailPage(traceId) {
  let shown = -1, selected = null;
  every(2000, async () => {
    const trace = await api(`/api/traces/${encodeURIComponent(traceId)}`).catch(() => null);
    if (!trace) {
      main.innerHTML = `<h1>Trace ${h(traceId)}</h1><p>Not received yet, or trimmed or cleared.</p>`;
      return;
    }
    if (trace.spans.length === shown) return;
    shown = trace.spans.length;
    drawTrace(traceId, trace, selected, spanId => selected = spanId);
  });
}

function drawTrace(traceId, trace, selected, select) {
  const spans = trace.spans;
  const byId = new Map(spans.map(s => [s.spanId, { ...s, children: [] }]));
  const roots = [];
  for (const span of byId.values()) (span.parentSpanId && byId.has(span.parentSpanId) ? byId.get(span.parentSpanId).children : roots).push(span);
  const ordered = [];
  (function walk(list, depth) { for (const s of list.sort((a, b) => a.startNs - b.startNs)) { ordered.push([s, depth]); walk(s.children, depth + 1); } })(roots, 0);
  const start = Math.min(...spans.map(s => s.startNs)), end = Math.max(...spans.map(s => s.endNs)), total = Math.max(end - start, 1);
  main.innerHTML = `<h1>Trace ${h(ordered[0][0].name)}</h1>
    <p class="muted">${h(traceId)} · ${h(dateTime(start))} · ${duration(total / 1e6)} · ${spans.length} spans ·
      <a href="/structuredlogs?traceId=${traceId}">View logs (${trace.logCount})</a></p>
    <table class="waterfall"><thead><tr><th>Span</th><th>Resource</th><th>Duration</th><th class="bar">Timeline</th></tr></thead><tbody>
    ${ordered.map(([s, depth]) => {
      const attributes = JSON.parse(s.attributes);
      return `<tr class="clickable" data-span="${s.spanId}"><td class="name" style="padding-left:${0.5 + depth * 1.1}rem">${h(s.name)}
        ${s.statusCode === 2 ? '<span class="error-mark">●</span>' : ""} ${chatChips(attributes)}</td><td>${h(s.resource)}</td>
        <td>${duration((s.endNs - s.startNs) / 1e6)}</td>
        <td class="bar"><div class="span-bar ${s.statusCode === 2 ? "error" : ""}" style="left:${((s.startNs - start) / total * 100).toFixed(2)}%;width:${((s.endNs - s.startNs) / total * 100).toFixed(2)}%"></div></td></tr>`;
    }).join("")}</tbody></table><div id="span"></div>`;
  const show = row => {
    main.querySelectorAll("tr.selected").forEach(r => r.classList.remove("selected"));
    row.classList.add("selected");
    select(row.dataset.span);
    const s = byId.get(row.dataset.span);
    const events = JSON.parse(s.events);
    document.getElementById("span").innerHTML = `<div class="details"><h2>${h(s.name)}</h2>
      <p class="muted">${h(s.resource)} · ${h(s.scope)} · ${spanKinds[s.kind] ?? s.kind} · ${h(time(s.startNs))} · ${duration((s.endNs - s.startNs) / 1e6)}
        ${s.statusMessage ? ` · <span class="error-mark">${h(s.statusMessage)}</span>` : ""}</p>
      <h2>Attributes</h2>${keyValues(JSON.parse(s.attributes))}
      <h2>Events</h2>${events.length === 0 ? '<p class="muted">None.</p>' : events.map(e => `<p><strong>${h(e.name)}</strong> at ${h(time(e.time))}</p>${keyValues(e.attributes)}`).join("")}</div>`;
  };
  main.querySelector("tbody").addEventListener("click", event => {
    const row = event.target.closest("tr[data-span]");
    if (row) show(row);
  });
  const again = selected && main.querySelector(`tr[data-span="${selected}"]`);
  if (again) show(again);
}

// ---- Metrics ---------------------------------------------------------------------------------------------------
async function metricsPage() {
  const names = await resourceNames();
  const resource = params.get("resource") ?? names.find(n => n === "apiservice") ?? names[0];
  main.innerHTML = `<h1>Metrics</h1><div class="filters">
    <label>Resource<select id="resource">${options(names.map(n => [n, n]), resource)}</select></label>
    <label>Window<select id="minutes">${options([[1, "1 minute"], [5, "5 minutes"], [15, "15 minutes"], [60, "1 hour"], [1440, "24 hours"]], params.get("minutes") ?? 5)}</select></label></div>
    <div class="columns"><div class="instrument-list" id="instruments"></div><div id="chart"><p class="muted">Choose an instrument.</p></div></div>`;
  const go = changes => {
    const query = new URLSearchParams(location.search);
    for (const [k, v] of Object.entries(changes)) v === null ? query.delete(k) : query.set(k, v);
    location.href = "/metrics?" + query;
  };
  document.getElementById("resource").addEventListener("change", e => go({ resource: e.target.value, meter: null, instrument: null }));
  document.getElementById("minutes").addEventListener("change", e => go({ minutes: e.target.value }));
  const instruments = await api(`/api/metrics/instruments?resource=${encodeURIComponent(resource ?? "")}`);
  let meter = null;
  document.getElementById("instruments").innerHTML = instruments.map(i => {
    const header = i.meter !== meter ? `<div class="meter">${h(i.meter)}</div>` : "";
    meter = i.meter;
    const selected = i.meter === params.get("meter") && i.name === params.get("instrument");
    return `${header}<div data-meter="${h(i.meter)}" data-instrument="${h(i.name)}" class="${selected ? "selected" : ""}">${h(i.name)}</div>`;
  }).join("") || `<div class="meter">No metrics from ${h(resource)} yet.</div>`;
  document.getElementById("instruments").addEventListener("click", e => {
    const item = e.target.closest("div[data-instrument]");
    if (item) go({ meter: item.dataset.meter, instrument: item.dataset.instrument });
  });
  const chosen = instruments.find(i => i.meter === params.get("meter") && i.name === params.get("instrument"));
  if (chosen) {
    const dimensionFilter = {};
    every(2000, () => drawMetric(resource, chosen, params.get("minutes") ?? 5, dimensionFilter));
  }
}

async function drawMetric(resource, instrument, minutes, dimensionFilter) {
  const points = await api(`/api/metrics/points?` + new URLSearchParams({ resource, meter: instrument.meter, instrument: instrument.name, minutes }));
  const parsed = points.map(p => ({ ...p, attrs: JSON.parse(p.attributes) }));
  const dimensions = {};
  for (const p of parsed) for (const [k, v] of Object.entries(p.attrs)) (dimensions[k] ??= new Set()).add(String(v));
  const kept = parsed.filter(p => Object.entries(dimensionFilter).every(([k, v]) => !v || String(p.attrs[k]) === v));
  const series = new Map();
  const histogram = instrument.kind === "histogram";
  for (const p of kept) {
    const key = Object.entries(p.attrs).map(([k, v]) => `${k}=${v}`).join(", ") || "(no dimensions)";
    const values = histogram ? [["p50", p.p50], ["p90", p.p90], ["p99", p.p99]] : [["", p.value]];
    for (const [suffix, value] of values) {
      if (value === null || value === undefined) continue;
      const name = suffix ? `${suffix} ${key}` : key;
      if (!series.has(name)) series.set(name, []);
      series.get(name).push([p.timeNs, value]);
    }
  }
  const all = [...series.values()].flat();
  const chart = document.getElementById("chart");
  const filters = Object.entries(dimensions).map(([k, values]) => `<label>${h(k)}<select data-dimension="${h(k)}">
    ${options([["", "All"], ...[...values].sort().map(v => [v, v])], dimensionFilter[k])}</select></label>`).join("");
  const width = 900, height = 300, pad = 48;
  let svg = `<svg class="chart" viewBox="0 0 ${width} ${height}" preserveAspectRatio="none">`;
  if (all.length > 0) {
    const t0 = Math.min(...all.map(p => p[0])), t1 = Math.max(...all.map(p => p[0]), t0 + 1);
    const v0 = Math.min(0, ...all.map(p => p[1])), v1 = Math.max(...all.map(p => p[1]), v0 + 1e-9);
    const x = t => pad + (t - t0) / (t1 - t0) * (width - pad - 10), y = v => height - 24 - (v - v0) / (v1 - v0) * (height - 40);
    svg += `<text x="4" y="14" font-size="11" fill="#6b6b76">${h(+v1.toPrecision(4))} ${h(instrument.unit)}</text>
      <text x="4" y="${height - 26}" font-size="11" fill="#6b6b76">${h(+v0.toPrecision(4))}</text>
      <text x="${pad}" y="${height - 6}" font-size="11" fill="#6b6b76">${h(time(t0))}</text>
      <text x="${width - 90}" y="${height - 6}" font-size="11" fill="#6b6b76">${h(time(t1))}</text>`;
    [...series.entries()].slice(0, 24).forEach(([, values], i) => {
      svg += `<polyline fill="none" stroke="${colors[i % colors.length]}" stroke-width="1.6" points="${values.map(([t, v]) => `${x(t).toFixed(1)},${y(v).toFixed(1)}`).join(" ")}"/>`;
    });
  }
  svg += "</svg>";
  chart.innerHTML = `<h2>${h(instrument.name)} <span class="muted">${h(instrument.kind)}${instrument.unit ? `, ${h(instrument.unit)}` : ""}</span></h2>
    <p class="muted">${h(instrument.description)}</p><div class="filters">${filters}</div>${all.length === 0 ? '<p class="muted">No points in this window.</p>' : svg}
    <div class="legend">${[...series.keys()].slice(0, 24).map((name, i) => `<span><i style="background:${colors[i % colors.length]}"></i>${h(name)}</span>`).join("")}</div>
    <table><thead><tr><th>Series</th><th>Last value</th></tr></thead><tbody>${[...series.entries()].map(([name, values]) =>
      `<tr><td>${h(name)}</td><td>${h(+values[values.length - 1][1].toPrecision(6))} ${h(instrument.unit)}</td></tr>`).join("")}</tbody></table>`;
  chart.querySelectorAll("select[data-dimension]").forEach(select => select.addEventListener("change", () => {
    dimensionFilter[select.dataset.dimension] = select.value;
    drawMetric(resource, instrument, minutes, dimensionFilter);
  }));
}

// ---- Shell -----------------------------------------------------------------------------------------------------
async function status() {
  const s = await api("/api/status");
  const dropped = s.ingest.droppedSpans + s.ingest.droppedLogs + s.ingest.droppedPoints + s.ingest.droppedConsole;
  const trimmed = Object.values(s.trimmed).reduce((a, b) => a + b, 0);
  document.getElementById("status").textContent =
    `${s.stored.spans.toLocaleString()} spans · ${s.stored.logs.toLocaleString()} logs · ${(s.stored.bytes / 1048576).toFixed(1)} MB · dropped ${dropped.toLocaleString()} · trimmed ${trimmed.toLocaleString()}`;
}

document.getElementById("clear").addEventListener("click", async () => {
  if (!confirm("Remove all stored telemetry and console logs?")) return;
  await api("/api/telemetry/clear", { method: "POST" });
  location.reload();
});

const path = location.pathname;
const page = path.startsWith("/consolelogs") ? "console" : path.startsWith("/structuredlogs") ? "logs"
  : path.startsWith("/traces") ? "traces" : path.startsWith("/metrics") ? "metrics" : "resources";
document.querySelector(`nav a[data-page="${page}"]`).classList.add("active");
every(3000, status);
const detail = path.match(/^\/traces\/detail\/([0-9a-f]+)/);
({ resources: resourcesPage, console: consolePage, logs: logsPage, metrics: metricsPage,
   traces: () => detail ? traceDetailPage(detail[1]) : tracesPage() })[page]();
