// One message as a DOM row: author, trust, time, reply quote, formatted text, location,
// reactions and the actions the viewer may take. Everything user-written is text.

import { el, formatText, fullTime, maidenhead, shortTime } from "./dom.js";
import { fileBlock } from "./files.js";

export const QUICK_EMOJI = ["👍", "❤️", "😂", "✅", "👀", "🙏"];

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
    "📍 ",
    el("a", { href: `geo:${lat.toFixed(6)},${lon.toFixed(6)}`, title: "Open in a map app" }, coords),
    " · grid ",
    el("strong", null, grid),
  );
}

/**
 * Build the row for ``m``. ``ctx`` gives: me, myKey, lookup(id), replies(id), showChannel,
 * and the action callbacks reply, thread, react, unreact, edit, remove.
 */
export function messageRow(m, ctx) {
  const mine = m.callsign === ctx.me && m.author === ctx.myKey && m.kind === "msg";
  const mentionsMe =
    !mine && ((m.mentions || []).includes(ctx.me) || (m.to === ctx.me && m.callsign !== ctx.me));
  const row = el("article", {
    class: ["msg", mine && "mine", mentionsMe && "mentioned", m.deleted && "deleted"]
      .filter(Boolean)
      .join(" "),
    id: "m-" + m.id,
    "data-id": m.id,
    tabindex: "-1",
    "aria-label": `${m.callsign} at ${fullTime(m.ts)}`,
  });

  const head = el(
    "div",
    { class: "msg-head" },
    el("span", { class: "who" }, m.callsign),
    trustBadge(m),
    m.to ? el("span", { class: "dm-tag" }, `→ ${m.to}`) : null,
    ctx.showChannel && !m.to ? el("span", { class: "chan-tag" }, m.channel ? "#" + m.channel : "Everything") : null,
    el("time", { datetime: new Date(m.ts).toISOString(), title: fullTime(m.ts) }, shortTime(m.ts)),
    m.edited ? el("span", { class: "edited", title: "edited " + fullTime(m.edited) }, "(edited)") : null,
  );
  row.append(head);

  if (m.reply_to) {
    const parent = ctx.lookup(m.reply_to);
    row.append(
      el(
        "button",
        {
          type: "button",
          class: "quote",
          title: "Open the thread",
          onclick: () => ctx.thread(m.reply_to),
        },
        "↪ ",
        el("span", { class: "who" }, parent ? parent.callsign : "…"),
        " ",
        snippet(parent),
      ),
    );
  }

  const body = el("div", { class: "text" });
  if (m.deleted) body.append(el("em", { class: "muted" }, "message deleted"));
  else body.append(...formatText(m.text, ctx.me));
  if (m.kind === "file" && m.file && !m.deleted) body.append(fileBlock(m));
  row.append(body);
  if (m.geo && !m.deleted) row.append(geoLine(m.geo));

  if (!m.deleted) row.append(reactionsRow(m, ctx));
  if (!m.deleted) row.append(actionsRow(m, ctx, mine));
  return row;
}

function reactionsRow(m, ctx) {
  const box = el("div", { class: "reactions" });
  for (const r of m.reactions || []) {
    const index = (r.callsigns || []).indexOf(ctx.me);
    const pressed = index >= 0;
    box.append(
      el(
        "button",
        {
          type: "button",
          class: "chip",
          "aria-pressed": pressed ? "true" : "false",
          "aria-label": `${r.emoji} ${r.count}: ${(r.callsigns || []).join(", ")}`,
          title: (r.callsigns || []).join(", "),
          onclick: () => (pressed ? ctx.unreact(m, r, index) : ctx.react(m, r.emoji)),
        },
        r.emoji + " " + r.count,
      ),
    );
  }
  return box;
}

function actionsRow(m, ctx, mine) {
  const bar = el("div", { class: "actions" });
  bar.append(
    el("button", { type: "button", onclick: () => ctx.reply(m) }, "Reply"),
  );
  const replies = ctx.replies(m.id);
  if (replies > 0 || m.reply_to) {
    bar.append(
      el(
        "button",
        { type: "button", onclick: () => ctx.thread(m.id) },
        replies > 0 ? `Thread (${replies})` : "Thread",
      ),
    );
  }
  const picker = el("span", { class: "picker", hidden: true });
  for (const emoji of QUICK_EMOJI) {
    picker.append(
      el(
        "button",
        {
          type: "button",
          "aria-label": `React with ${emoji}`,
          onclick: () => {
            picker.hidden = true;
            ctx.react(m, emoji);
          },
        },
        emoji,
      ),
    );
  }
  const reactBtn = el(
    "button",
    {
      type: "button",
      "aria-expanded": "false",
      onclick: () => {
        picker.hidden = !picker.hidden;
        reactBtn.setAttribute("aria-expanded", String(!picker.hidden));
        if (!picker.hidden) picker.firstChild.focus();
      },
    },
    "React",
  );
  bar.append(reactBtn, picker);
  if (mine) {
    bar.append(el("button", { type: "button", onclick: () => ctx.edit(m) }, "Edit"));
    const delBtn = el("button", { type: "button", class: "danger" }, "Delete");
    let armed = null;
    delBtn.addEventListener("click", () => {
      if (armed) {
        clearTimeout(armed);
        ctx.remove(m);
        return;
      }
      delBtn.textContent = "Confirm delete";
      armed = setTimeout(() => {
        armed = null;
        delBtn.textContent = "Delete";
      }, 4000);
    });
    bar.append(delBtn);
  }
  return bar;
}

/** Turn the text block of ``row`` into an editor; ``save(text)`` returns a promise, then ``after()``. */
export function startEdit(row, m, save, after) {
  const body = row.querySelector(".text");
  if (!body || row.querySelector(".edit-form")) return;
  const area = el("textarea", { "aria-label": "Edit message", rows: 2 });
  area.value = m.text;
  const error = el("p", { class: "error", role: "alert" });
  const form = el(
    "form",
    { class: "edit-form" },
    area,
    el("div", { class: "row" }, el("button", { type: "submit" }, "Save"),
      el("button", { type: "button", onclick: () => done() }, "Cancel")),
    error,
  );
  const done = () => {
    form.remove();
    body.hidden = false;
  };
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try {
      await save(area.value);
      done();
      after(); // the update may have come over the socket while the editor was open
    } catch (err) {
      error.textContent = err.message;
    }
  });
  area.addEventListener("keydown", (ev) => {
    if (ev.key === "Escape") done();
    if (ev.key === "Enter" && !ev.shiftKey) {
      ev.preventDefault();
      form.requestSubmit();
    }
  });
  body.hidden = true;
  body.after(form);
  area.focus();
}
