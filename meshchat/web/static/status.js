// The status page: node, zone, version, peers and their sync state, with a small SVG
// picture of the peers and when each last synced (from GET /api/v1/status).

import { renderActions } from "./actions.js";
import * as api from "./api.js";
import { ago, clear, el, svg } from "./dom.js";

/**
 * A peer's state for the dot, the line and the table. When it counts as stale is the
 * node's call (``timing.peer_stale_s``, a few of its sync rounds): the UI has no period
 * of its own, so a node that names none never has stale peers here.
 */
function peerState(p, timing) {
  if (p.failures > 0 || p.last_error) return "failing";
  if (!p.last_sync) return "never";
  const staleS = timing && timing.peer_stale_s;
  return typeof staleS === "number" && Date.now() / 1000 - p.last_sync > staleS ? "stale" : "synced";
}

function peerName(p) {
  return p.name || p.url.replace(/^https?:\/\//, "");
}

function picture(nodeName, peers, timing) {
  const w = 360;
  const h = peers.length > 1 ? 240 : 140;
  const cx = w / 2;
  const cy = h / 2;
  const r = Math.min(w, h) / 2 - 34;
  const pic = svg("svg", {
    viewBox: `0 0 ${w} ${h}`,
    class: "peer-map",
    role: "img",
    "aria-label": `This node and ${peers.length} peer${peers.length === 1 ? "" : "s"}`,
  });
  peers.forEach((p, i) => {
    const a = Math.PI + (2 * Math.PI * i) / peers.length; // the first peer on the left
    const x = cx + (w / 2 - 60) * Math.cos(a);
    const y = cy + r * Math.sin(a);
    const state = peerState(p, timing);
    pic.append(svg("line", { x1: cx, y1: cy, x2: x, y2: y, class: `link ${state}` }));
    const g = svg("g", { class: `peer ${state}` });
    g.append(svg("title", {}, `${peerName(p)}: ${state}`));
    g.append(svg("circle", { cx: x, cy: y, r: 9 }));
    g.append(svg("text", { x, y: y - 14, "text-anchor": "middle" }, peerName(p)));
    const when = p.last_sync ? ago(p.last_sync * 1000) : "never synced";
    g.append(svg("text", { x, y: y + 22, "text-anchor": "middle", class: "small" }, when));
    pic.append(g);
  });
  pic.append(svg("circle", { cx, cy, r: 14, class: "self" }));
  pic.append(svg("text", { x: cx, y: cy + 32, "text-anchor": "middle", class: "self-label" }, nodeName));
  return pic;
}

function fmtBytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

function fmtUptime(s) {
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  return d ? `${d} d ${h} h` : h ? `${h} h ${m} min` : `${m} min ${Math.floor(s % 60)} s`;
}

export async function renderStatus(target, zone) {
  let st;
  try {
    st = await api.get("status");
  } catch (err) {
    clear(target);
    target.append(el("p", { class: "error", role: "alert" }, "Could not read the status: " + err.message));
    return;
  }
  clear(target);
  const peers = st.peers || [];
  const dl = el("dl", { class: "facts" });
  const fact = (k, v, title) => dl.append(el("dt", null, k), el("dd", { title }, v));
  fact("Node", st.node.name);
  fact("Zone", zone);
  fact("Version", st.node.version);
  fact("Node key", st.node.key.slice(0, 16) + "…", st.node.key);
  fact("Up", fmtUptime(st.uptime_s));
  fact("Records", st.zones.map((z) => `${z.name}: ${z.count}`).join(", "));
  const rejects = Object.entries(st.rejects || {});
  fact("Refused", rejects.length ? rejects.map(([k, v]) => `${k}: ${v}`).join(", ") : "none");
  target.append(el("div", { class: "status-grid" }, dl, el("figure", { class: "peer-fig" },
    picture(st.node.name, peers, st.timing), el("figcaption", { class: "muted" }, "Peers and when each last synced"))));

  const table = el("table", { class: "peers" });
  table.append(el("caption", null, `Peers (${peers.length})`));
  table.append(el("thead", null, el("tr", null,
    ...["Peer", "State", "Last sync", "Last answer", "Failures", "Sent / received", "Last error"].map(
      (t) => el("th", { scope: "col" }, t)))));
  const tbody = el("tbody");
  for (const p of peers) {
    const state = peerState(p, st.timing);
    tbody.append(el("tr", null,
      el("th", { scope: "row", title: p.url }, peerName(p)),
      el("td", null, el("span", { class: `dot ${state}` }), " " + state),
      el("td", null, p.last_sync ? ago(p.last_sync * 1000) : "never"),
      el("td", null, p.last_seen ? ago(p.last_seen * 1000) : "never"),
      el("td", null, String(p.failures)),
      el("td", null, `${fmtBytes(p.bytes_out)} / ${fmtBytes(p.bytes_in)}`),
      el("td", { class: "muted" }, p.last_error || "")));
  }
  if (!peers.length) tbody.append(el("tr", null, el("td", { colspan: 7 }, "No peers yet.")));
  table.append(tbody);
  target.append(el("div", { class: "table-wrap" }, table));
  renderActions(target, st.actions);
}
