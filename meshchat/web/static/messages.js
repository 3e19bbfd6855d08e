// One message as a DOM row: author, trust, time, reply quote, formatted text (folded when
// long, right to left when it is written so), location, reactions and the actions the
// viewer may take. Everything user-written is text.

import { hiddenNote } from "./access.js";
import { actionsRow, reactionsRow } from "./actions.js";
import { el, formatText, maidenhead } from "./dom.js";
import { foldable } from "./fold.js";
import { icon } from "./icons.js";
import { fullStamp, stamp } from "./time.js";
import { fileBlock } from "./files.js";

const TRUST = {
  key: (m) => ["✓ signed", `Signed with ${m.callsign}'s own key`],
  via: (m) => [`via ${m.node}`, `Signed for ${m.callsign} by node ${m.node} (no personal key)`],
  legacy: () => ["legacy", "Imported from a legacy MeshChat node: nobody signed it"],
  conflict: (m) => [
    "⚠ unverified",
    `${m.callsign} is bound to a different key in this zone: the sender may not be who they claim`,
  ],
};

export function snippet(m, max = 80) {
  if (!m) return "an earlier message";
  if (m.deleted) return "a deleted message";
  const text = m.text.replace(/\s+/g, " ").trim();
  return text.length > max ? text.slice(0, max - 1) + "…" : text;
}

export function trustBadge(m) {
  const [label, title] = (TRUST[m.verified] || TRUST.conflict)(m);
  return el("span", { class: `trust t-${m.verified}`, title }, label);
}

export function geoLine(geo) {
  const lat = geo[0] / 1e6;
  const lon = geo[1] / 1e6;
  const coords = `${lat.toFixed(5)}, ${lon.toFixed(5)}`;
  const grid = maidenhead(lat, lon);
  return el(
    "div",
    { class: "geo" },
    icon("pin"),
    " Location ",
    el("a", { href: `geo:${lat.toFixed(6)},${lon.toFixed(6)}`, title: "Open in a map app" }, coords),
    " · grid ",
    el("strong", null, grid),
  );
}

function head(m, ctx) {
  const edited = m.edited
    ? el("span", { class: "edited", "data-ts": m.edited, "data-fmt": "title", title: "edited " + fullStamp(m.edited) }, "(edited)")
    : null;
  return el(
    "div",
    { class: "msg-head" },
    el("span", { class: "who" }, m.callsign),
    trustBadge(m),
    m.to ? el("span", { class: "dm-tag" }, `→ ${m.to}`) : null,
    ctx.showChannel && !m.to ? el("span", { class: "chan-tag" }, m.channel ? "#" + m.channel : "Everything") : null,
    stamp(m.ts),
    edited,
  );
}

/**
 * Build the row for ``m``. ``ctx`` gives: me, myKey, lookup(id), replies(id), showChannel,
 * highlight(node) (search terms), and the action callbacks reply, thread, react, unreact,
 * edit, remove.
 */
export function messageRow(m, ctx) {
  // Signed by my key; for a callsign-only login, posted from this very browser (the node
  // signs for every callsign-only user, and only the posting browser may change a post).
  const mine = m.callsign === ctx.me && m.author === ctx.myKey && m.kind === "msg" &&
    (!ctx.viaNode || (ctx.yours && ctx.yours.has(m.id)));
  const mentionsMe =
    !mine && ((m.mentions || []).includes(ctx.me) || (m.to === ctx.me && m.callsign !== ctx.me));
  const row = el("article", {
    class: ["msg", mine && "mine", mentionsMe && "mentioned", m.deleted && "deleted", m.hidden && "hidden-msg"]
      .filter(Boolean)
      .join(" "),
    id: "m-" + m.id,
    "data-id": m.id,
    "data-ts": m.ts,
    tabindex: "-1",
    "aria-label": `${m.callsign}, ${fullStamp(m.ts)}`,
  });
  row.append(head(m, ctx));

  if (m.reply_to) {
    const parent = ctx.lookup(m.reply_to);
    row.append(
      el(
        "button",
        { type: "button", class: "quote", title: "Open the thread", onclick: () => ctx.thread(m.reply_to) },
        "↪ ",
        el("span", { class: "who" }, parent ? parent.callsign : "…"),
        " ",
        el("span", { dir: "auto" }, snippet(parent)),
      ),
    );
  }

  const body = el("div", { class: "text", dir: "auto" });
  if (m.deleted) body.append(el("em", { class: "muted" }, "message deleted"));
  else body.append(...formatText(m.text, ctx.me));
  if (ctx.highlight && !m.deleted) ctx.highlight(body);
  if (m.kind === "file" && m.file && !m.deleted) body.append(fileBlock(m));
  row.append(body);
  const fold = m.deleted ? null : foldable(body, m.id, m.text);
  if (fold) row.append(fold);
  if (m.kind === "file" && m.file) {
    row.append(el("div", { class: "muted file" }, icon("clip"), ` ${m.file.name || "file"} (${m.file.size || "?"} bytes)`));
  }
  if (m.geo && !m.deleted) row.append(geoLine(m.geo));
  const note = hiddenNote(m);
  if (note) row.append(note);

  if (!m.deleted) row.append(reactionsRow(m, ctx));
  if (!m.deleted) row.append(actionsRow(m, ctx, mine, row));
  return row;
}
