/**
 * The operators' dashboard: one page, no framework. It holds no data itself; its script reads the
 * API with the JWT-SVID given in the URL fragment (`x0ctl dashboard` prints such a URL), which
 * never reaches the server, and polls every 2 s.
 */
export function dashboardPage(nonce: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>x0tta6bl4 mesh</title>
<style nonce="${nonce}">
body{font:14px system-ui,sans-serif;margin:0;background:#10141a;color:#e6e6e6}
header{padding:10px 16px;background:#182030;display:flex;gap:16px;align-items:baseline}
h1{font-size:18px;margin:0}h2{font-size:14px;margin:8px 0;color:#9fb3c8;text-transform:uppercase;letter-spacing:.05em}
main{display:grid;grid-template-columns:2fr 1fr;gap:12px;padding:12px}
section{background:#182030;border-radius:6px;padding:8px 12px}
#banner{display:none;background:#7a1f1f;padding:8px 16px}#banner.show{display:block}
svg{width:100%;height:440px}.node circle{stroke:#10141a;stroke-width:2;cursor:pointer}.node text{fill:#e6e6e6;font-size:12px}
.online circle{fill:#2e7d32}.stale circle{fill:#f9a825}.offline circle{fill:#c62828}
.good{stroke:#4caf50}.fair{stroke:#f9a825}.poor{stroke:#e53935}line{stroke-width:2;opacity:.8}
table{width:100%;border-collapse:collapse;font-size:12px}td,th{text-align:left;padding:3px 6px;border-bottom:1px solid #263244;vertical-align:top}
.wide{grid-column:1 / span 2}#rag-query{width:60%;padding:4px;background:#10141a;color:#e6e6e6;border:1px solid #263244}mark{background:#f9a825;color:#10141a}#rag-hits li{margin:6px 0}dl{display:grid;grid-template-columns:auto 1fr;gap:2px 10px;margin:0}dt{color:#9fb3c8}
</style></head>
<body>
<header><h1>x0tta6bl4 mesh</h1><span id="summary">loading…</span><span id="updated"></span></header>
<div id="banner">Not logged in, or the session ended: run <code>npx x0ctl dashboard</code> and open the URL it prints (its code works once, for 60 s).</div>
<main>
<section><h2>Topology</h2><svg id="graph" role="img" aria-label="mesh topology"></svg></section>
<section><h2>Node</h2><div id="detail">Click a node.</div><h2>Security</h2><dl id="security"></dl></section>
<section class="wide"><h2>Decisions</h2><table><thead><tr><th>time</th><th>node</th><th>kind</th><th>why</th><th>outcome</th><th>verdict</th><th>related (RAG)</th></tr></thead><tbody id="decisions"></tbody></table></section>
<section class="wide"><h2>Governance</h2><dl id="governance"></dl><table><thead><tr><th>proposal</th><th>space</th><th>execution</th><th>eta</th><th>steps</th></tr></thead><tbody id="executions"></tbody></table></section>
<section class="wide"><h2>Knowledge (RAG)</h2><div id="rag-stats"></div><form id="rag-form"><input id="rag-query" type="search" maxlength="1000" placeholder="what fixed packet loss last time?" aria-label="search runbooks and past decisions"> <button>Search</button></form><div id="rag-mode"></div><ol id="rag-hits"></ol></section>
</main>
<script nonce="${nonce}">
"use strict";
// A one-time login code comes in the fragment (never sent to a server, never logged); it is
// exchanged for an HttpOnly session cookie that no script here can read.
const code = new URLSearchParams(location.hash.slice(1)).get("code");
history.replaceState(null, "", location.pathname);
const login = code ? fetch("/api/v1/dashboard/session", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ code }) }) : Promise.resolve();
const el = (id) => document.getElementById(id);
const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
const band = (tq) => (tq >= 200 ? "good" : tq >= 100 ? "fair" : "poor");
let selected = null, last = null;
async function api(path, as = "json") {
  await login;
  const res = await fetch(path, { credentials: "same-origin" });
  if (res.status === 401 || res.status === 403) { el("banner").classList.add("show"); throw new Error("unauthorized"); }
  el("banner").classList.remove("show");
  return as === "json" ? res.json() : res.text();
}
function drawGraph(topology) {
  const nodes = topology.nodes, n = nodes.length, r = 180, cx = 300, cy = 220;
  const at = new Map(nodes.map((node, i) => [node.id, { x: cx + r * Math.cos((2 * Math.PI * i) / n - Math.PI / 2), y: cy + r * Math.sin((2 * Math.PI * i) / n - Math.PI / 2) }]));
  const lines = topology.links.filter((l) => at.has(l.from) && at.has(l.to)).map((l) => {
    const a = at.get(l.from), b = at.get(l.to);
    return '<line class="link ' + band(l.tq) + '" data-from="' + esc(l.from) + '" data-to="' + esc(l.to) + '" x1="' + a.x + '" y1="' + a.y + '" x2="' + b.x + '" y2="' + b.y + '"><title>' + esc(l.from + " → " + l.to + ": TQ " + l.tq + ", " + l.latencyMs.toFixed(1) + " ms, loss " + (100 * l.loss).toFixed(1) + " %") + "</title></line>";
  });
  const circles = nodes.map((node) => {
    const p = at.get(node.id);
    return '<g class="node ' + esc(node.status) + '" data-node="' + esc(node.id) + '" data-status="' + esc(node.status) + '"><circle cx="' + p.x + '" cy="' + p.y + '" r="' + (node.role === "gateway" ? 16 : 12) + '"></circle><text x="' + (p.x + 18) + '" y="' + (p.y + 4) + '">' + esc(node.id) + "</text></g>";
  });
  el("graph").setAttribute("viewBox", "0 0 600 440");
  el("graph").innerHTML = lines.join("") + circles.join("");
  for (const g of el("graph").querySelectorAll(".node")) g.addEventListener("click", () => { selected = g.dataset.node; drawDetail(); });
}
function drawDetail() {
  const node = last?.nodes.find((n) => n.id === selected);
  if (!node) return;
  const links = last.links.filter((l) => l.from === node.id);
  el("detail").innerHTML = "<dl>" + [["id", node.id], ["role", node.role], ["status", node.status], ["firmware", node.firmwareVersion], ["SPIFFE ID", node.spiffeId], ["last seen", node.lastSeen], ["samples stored", node.samplesStored], ["samples missing", node.samplesMissing], ["links", links.map((l) => l.to + " (TQ " + l.tq + ")").join(", ") || "none"]].map(([k, v]) => "<dt>" + esc(k) + "</dt><dd>" + esc(v) + "</dd>").join("") + "</dl>";
}
function drawDecisions(list) {
  el("decisions").innerHTML = list.map((d) => "<tr><td>" + esc(d.ts.slice(11, 19)) + "</td><td>" + esc(d.nodeId) + "</td><td>" + esc(d.kind) + "</td><td>" + esc(d.why) + "</td><td>" + esc(d.outcome ?? "pending") + "</td><td>" + esc(d.verdict ?? "") + "</td><td>" + esc(evidence(d.evidence)) + "</td></tr>").join("");
}
function evidence(e) {
  if (!e) return "";
  return e.matches.length > 0 ? e.matches.map((m) => m.title).join("; ") : e.skipped ?? "none found";
}
function metricSum(metrics, name, match) {
  let sum = 0;
  for (const line of metrics.split("\\n")) {
    const m = /^(\\w+)(\\{[^}]*\\})? (\\S+)$/.exec(line);
    if (m && m[1] === name && (!match || (m[2] ?? "").includes(match))) sum += Number(m[3]);
  }
  return sum;
}
function drawRagStats(metrics) {
  el("rag-stats").textContent = metricSum(metrics, "x0_rag_documents", 'state="ready"') + " documents searchable, " + metricSum(metrics, "x0_rag_index_vectors") + " vectors, " + metricSum(metrics, "x0_rag_ingest_chunks_waiting") + " chunks waiting to be embedded";
}
async function search(event) {
  event.preventDefault();
  const query = el("rag-query").value.trim();
  if (!query) return;
  await login;
  // A read: GET with parameters, as the session cookie authorizes reads only.
  const res = await fetch("/api/v1/rag/query?" + new URLSearchParams({ query, k: "5" }), { credentials: "same-origin" });
  const body = await res.json();
  if (!res.ok) { el("rag-mode").textContent = body.detail ?? body.title; el("rag-hits").innerHTML = ""; return; }
  el("rag-mode").textContent = body.mode + (body.note ? " (" + body.note + ")" : "") + ", " + body.hits.length + " hits in " + body.tookMs + " ms";
  el("rag-hits").innerHTML = body.hits.map((h) => "<li><b>" + esc(h.title) + "</b> <small>" + esc(h.source ?? h.documentId) + "</small><br>" + esc(h.snippet).replace(/\\*\\*(.+?)\\*\\*/g, "<mark>$1</mark>") + "</li>").join("");
}
el("rag-form").addEventListener("submit", search);
function drawSecurity(metrics) {
  const rows = [];
  for (const line of metrics.split("\\n")) {
    const m = /^(x0_svids_issued_total|x0_svids_revoked_total|x0_audit_events_total)(\\{[^}]*\\})? (\\S+)$/.exec(line);
    if (m) rows.push([m[1].replace(/^x0_|_total$/g, "") + (m[2] ? " " + m[2].replace(/[{}"]/g, "").replace(/action=|outcome=/g, "") : ""), m[3]]);
  }
  el("security").innerHTML = rows.map(([k, v]) => "<dt>" + esc(k) + "</dt><dd>" + esc(v) + "</dd>").join("");
}
function drawGovernance(metrics, policy, executions) {
  const count = (name, label) => metricSum(metrics, name, label);
  const rows = [
    ["proposals open", count("x0_dao_proposals", 'state="active"')],
    ["proposals closed", count("x0_dao_proposals", 'state="closed"')],
    ["executions queued / done / failed", count("x0_dao_executions", 'state="queued"') + " / " + count("x0_dao_executions", 'state="done"') + " / " + count("x0_dao_executions", 'state="failed"')],
    ["messages accepted / refused", count("x0_dao_messages_accepted_total") + " / " + count("x0_dao_messages_refused_total")],
    ["policy revision", policy.revision],
    ["policy set", Object.entries(policy.settings).map(([k, v]) => k + " " + v).join(", ") || "nothing: the configuration holds"],
  ];
  el("governance").innerHTML = rows.map(([k, v]) => "<dt>" + esc(k) + "</dt><dd>" + esc(v) + "</dd>").join("");
  el("executions").innerHTML = executions.map((e) => "<tr><td>" + esc(e.proposalId.slice(0, 12)) + "…</td><td>" + esc(e.space) + "</td><td>" + esc(e.state + (e.error ? ": " + e.error : "")) + "</td><td>" + esc(e.eta.slice(0, 19)) + "</td><td>" + esc(e.steps.map((st) => st.change.kind + " " + st.state).join("; ")) + "</td></tr>").join("");
}
async function refresh() {
  try {
    const [topology, decisions, metrics, policy, executions] = await Promise.all([api("/api/v1/mesh/topology"), api("/api/v1/mape/decisions?limit=30"), api("/metrics", "text"), api("/api/v1/dao/policy"), api("/api/v1/dao/executions?limit=10")]);
    last = topology;
    drawGraph(topology);
    drawDetail();
    drawDecisions(decisions.decisions);
    drawSecurity(metrics);
    drawRagStats(metrics);
    drawGovernance(metrics, policy, executions.executions);
    const count = (s) => topology.nodes.filter((n) => n.status === s).length;
    el("summary").textContent = topology.nodes.length + " nodes: " + count("online") + " online, " + count("stale") + " stale, " + count("offline") + " offline; " + topology.links.length + " links";
    el("updated").textContent = "updated " + new Date().toLocaleTimeString();
  } catch (error) {
    el("updated").textContent = "update failed: " + error.message;
  }
}
refresh();
setInterval(refresh, 2000);
</script></body></html>`;
}
