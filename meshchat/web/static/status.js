// The status page: node, zone, version, a picture of every node of the zone, the nodes
// in a table (direct peer or not, users, when last heard) and the peers with their sync
// state (from GET /api/v1/status).

import { renderActions } from "./actionlog.js";
import * as api from "./api.js";
import { ago, clear, el } from "./dom.js";
import { peerName, peerState, zonePicture } from "./statusmap.js";
import { fullStamp } from "./time.js";

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

/** "3 min ago", with the full time on hover; ``ms`` may be absent. */
function when(ms, never = "never") {
  if (!ms) return el("td", null, never);
  return el("td", { title: fullStamp(ms) }, ago(ms));
}

const KIND = { native: "meshchat", legacy: "legacy MeshChat", unknown: "not known yet" };
const HEARD = {
  self: "",
  sync: " (sync)",
  presence: " (a user there)",
  message: " (a message posted there)",
  announce: " (its announcement)",
};

function table(cls, caption, heads, rows, note) {
  const t = el("table", { class: `status-table ${cls}`, "aria-labelledby": `${cls}-title`, "aria-describedby": `${cls}-note` });
  t.append(el("thead", null, el("tr", null, ...heads.map((h) =>
    Array.isArray(h) ? el("th", { scope: "col", title: h[1] }, h[0]) : el("th", { scope: "col" }, h)))));
  const body = el("tbody", null, ...rows);
  if (!rows.length) body.append(el("tr", null, el("td", { colspan: heads.length }, "None yet.")));
  t.append(body);
  return el("section", { class: "table-box" }, el("h3", { id: `${cls}-title` }, caption),
    el("p", { class: "table-note muted", id: `${cls}-note` }, note), el("div", { class: "table-wrap" }, t));
}

function nodesTable(nodes, zone) {
  const rows = nodes.map((n) => el("tr", { class: n.self ? "self-row" : null },
    el("th", { scope: "row", title: n.key || "" }, n.name),
    el("td", null, KIND[n.kind] || n.kind),
    el("td", null, n.self ? "this node" : n.peer ? "direct peer" : "through the mesh"),
    el("td", { title: (n.callsigns || []).join(", ") }, n.users ? `${n.users}: ${n.callsigns.join(", ")}` : "0"),
    n.self ? el("td", null, "now") : when(n.last_heard, "not heard yet"),
    el("td", { class: "muted" }, [n.platform, n.version].filter(Boolean).join(" ") || "")));
  for (const [row, n] of rows.map((r, i) => [r, nodes[i]])) {
    if (!n.self && n.last_heard) row.children[4].append(HEARD[n.heard_by] || "");
  }
  return table("nodes", `Nodes in zone ${zone} (${nodes.length})`,
    ["Node", "Kind", "Link", "Users online", "Last heard", "Platform"], rows,
    "Every node the zone's messages and presence name, not only this node's peers.");
}

function peersTable(peers, timing) {
  const rows = peers.map((p) => {
    const state = peerState(p, timing);
    return el("tr", null,
      el("th", { scope: "row", title: p.url }, peerName(p)),
      el("td", null, el("span", { class: `dot ${state}` }), " " + state),
      when(p.last_sync ? p.last_sync * 1000 : null),
      when(p.last_seen ? p.last_seen * 1000 : null),
      el("td", null, String(p.failures)),
      el("td", null, `${fmtBytes(p.bytes_out)} / ${fmtBytes(p.bytes_in)}`),
      el("td", { class: "muted" }, p.last_error || ""));
  });
  return table("peers", `Peers (${peers.length})`, [
    "Peer", "State",
    ["Last synced", "The last reconciliation between the two nodes, whichever of them started it"],
    ["Our last call answered", "When this node last called the peer itself and got an answer; between two healthy nodes one side makes the calls, so this may be old"],
    "Failures", "Sent / received", "Last error",
  ], rows, "Last synced counts a sync either node started; our last call answered counts only the calls this node made.");
}

/** A peer whose clock is off by more than the future window, said as an operator needs it. */
function clockWarning(w) {
  const away = Math.abs(w.skew_s);
  const size = away >= 3600 ? `${(away / 3600).toFixed(1)} h` : away >= 60 ? `${Math.round(away / 60)} min` : `${away} s`;
  const side = w.skew_s > 0 ? "ahead of" : "behind";
  return el("p", { class: "clock-warning", role: "alert" },
    el("strong", null, "Clock warning: "),
    `${w.name || w.url}'s clock is ${size} ${side} this node's. `,
    "Records stamped by the faster clock are refused by the slower node until one of the clocks is set right " +
    "(a GPS or NTP source on the mesh, or setting it by hand).");
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
  const nodes = (st.zone_nodes || {})[zone] || [];
  const dl = el("dl", { class: "facts" });
  const fact = (k, v, title) => dl.append(el("dt", null, k), el("dd", { title }, v));
  fact("Node", st.node.name);
  fact("Zone", zone);
  fact("Version", st.node.version);
  fact("Node key", st.node.key.slice(0, 16) + "…", st.node.key);
  fact("Up", fmtUptime(st.uptime_s));
  fact("Records", st.zones.map((z) => `${z.name}: ${z.count}`).join(", "));
  const counted = (m) => {
    const e = Object.entries(m || {});
    return e.length ? e.map(([k, v]) => `${k}: ${v}`).join(", ") : "none";
  };
  fact("Records refused", counted(st.rejects), "Records this node would not store, by reason (from peers, imports and this node's users)");
  fact("Sync requests refused", counted(st.sync_refused), "Requests from peers that this node's sync server answered with an error, by reason");
  for (const w of st.clock_warnings || []) target.append(clockWarning(w));
  target.append(el("div", { class: "status-grid" }, dl, el("figure", { class: "peer-fig" },
    zonePicture(nodes, peers, st.timing),
    el("figcaption", { class: "muted" }, "Every node of the zone: direct peers joined by a line in their sync state, " +
      "the rest reached through the mesh; squares are legacy MeshChat nodes."))));
  target.append(nodesTable(nodes, zone));
  target.append(peersTable(peers, st.timing));
  renderActions(target, st.actions);
}
