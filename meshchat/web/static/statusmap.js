// The status page's picture of the zone: this node in the middle, its direct peers around
// it joined by a line in the colour of their sync state, and every other node the zone's
// log and presence know of on an outer ring (reached through the mesh, route unknown).
// Legacy MeshChat nodes are squares. Each node says how many users it has and when it
// was last heard from.

import { ago, svg } from "./dom.js";

/**
 * A peer's state for the dot, the line and the table. When it counts as stale is the
 * node's call (``timing.peer_stale_s``, a few of its sync rounds): the UI has no period
 * of its own, so a node that names none never has stale peers here.
 */
export function peerState(p, timing) {
  if (p.failures > 0 || p.last_error) return "failing";
  if (!p.last_sync) return "never";
  const staleS = timing && timing.peer_stale_s;
  return typeof staleS === "number" && Date.now() / 1000 - p.last_sync > staleS ? "stale" : "synced";
}

export function peerName(p) {
  return p.name || p.url.replace(/^https?:\/\//, "");
}

function users(n) {
  return n.users ? `${n.users} user${n.users === 1 ? "" : "s"}` : "no users";
}

function place(pic, x, y, node, state) {
  const g = svg("g", { class: `peer ${state} ${node.kind}` });
  const heard = node.self ? "this node" : node.last_heard ? "heard " + ago(node.last_heard) : "not heard yet";
  g.append(svg("title", {}, `${node.name}: ${node.kind}, ${users(node)}, ${heard}`));
  if (node.kind === "legacy") g.append(svg("rect", { x: x - 8, y: y - 8, width: 16, height: 16 }));
  else g.append(svg("circle", { cx: x, cy: y, r: node.self ? 13 : 9, class: node.self ? "self" : "" }));
  g.append(svg("text", { x, y: y - 15, "text-anchor": "middle", class: node.self ? "self-label" : "" }, node.name));
  g.append(svg("text", { x, y: y + 23, "text-anchor": "middle", class: "small" }, `${users(node)} · ${heard}`));
  pic.append(g);
}

/** The picture of ``nodes`` (status ``zone_nodes`` of one zone) and ``peers``. */
export function zonePicture(nodes, peers, timing) {
  const me = nodes.find((n) => n.self) || { name: "this node", self: true, users: 0, kind: "native" };
  const direct = nodes.filter((n) => !n.self && n.peer);
  const far = nodes.filter((n) => !n.self && !n.peer);
  const w = 440;
  const h = far.length ? 320 : direct.length > 1 ? 240 : 150;
  const cx = w / 2;
  const cy = h / 2;
  const pic = svg("svg", {
    viewBox: `0 0 ${w} ${h}`,
    class: "peer-map",
    role: "img",
    "aria-label": `This node, ${direct.length} direct peer${direct.length === 1 ? "" : "s"} and ` +
      `${far.length} other node${far.length === 1 ? "" : "s"} of the zone`,
  });
  const byUrl = new Map(peers.map((p) => [p.url, p]));
  const ring = (list, rx, ry, turn) =>
    list.map((n, i) => {
      const a = Math.PI + turn + (2 * Math.PI * i) / list.length; // the first one on the left
      return [n, cx + rx * Math.cos(a), cy + ry * Math.sin(a)];
    });
  const inner = ring(direct, far.length ? 115 : w / 2 - 70, far.length ? 70 : h / 2 - 40, 0);
  const outer = ring(far, w / 2 - 52, h / 2 - 38, far.length > 1 ? Math.PI / far.length : Math.PI / 2);
  for (const [n, x, y] of inner) {
    const p = byUrl.get(n.peer);
    pic.append(svg("line", { x1: cx, y1: cy, x2: x, y2: y, class: `link ${p ? peerState(p, timing) : "never"}` }));
  }
  for (const [n, x, y] of outer) place(pic, x, y, n, "far");
  for (const [n, x, y] of inner) {
    const p = byUrl.get(n.peer);
    place(pic, x, y, n, p ? peerState(p, timing) : "never");
  }
  place(pic, cx, cy, me, "self");
  return pic;
}
