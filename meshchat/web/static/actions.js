// What a message row lets the viewer do: its reaction chips, the action bar (reply,
// thread, react, edit, delete), the reaction picker and the in-place editor. Every
// control has words: an emoji is never a control's only label (emoji.js).

import { hideActions } from "./access.js";
import { el } from "./dom.js";
import { emojiLabel, emojiName, emojiPicker } from "./emoji.js";

export function reactionsRow(m, ctx) {
  const box = el("div", { class: "reactions" });
  for (const r of m.reactions || []) {
    const who = r.callsigns || [];
    const index = who.indexOf(ctx.me);
    const pressed = index >= 0;
    box.append(
      el(
        "button",
        {
          type: "button",
          class: "chip",
          "aria-pressed": pressed ? "true" : "false",
          "aria-label": `${emojiName(r.emoji)} ${r.emoji} ${r.count}: ${who.join(", ")}`,
          title: `${emojiName(r.emoji)}: ${who.join(", ")}`,
          onclick: () => (pressed ? ctx.unreact(m, r, index) : ctx.react(m, r.emoji)),
        },
        ...emojiLabel(r.emoji),
        el("span", { class: "chip-count" }, String(r.count)),
      ),
    );
  }
  return box;
}

function deleteButton(m, ctx) {
  const button = el("button", { type: "button", class: "danger" }, "Delete");
  let armed = null;
  button.addEventListener("click", () => {
    if (armed) {
      clearTimeout(armed);
      ctx.remove(m);
      return;
    }
    button.textContent = "Confirm delete";
    armed = setTimeout(() => {
      armed = null;
      button.textContent = "Delete";
    }, 4000);
  });
  return button;
}

/** The action bar of ``row``; the picker opens under the message, in the row itself. */
export function actionsRow(m, ctx, mine, row) {
  const bar = el("div", { class: "actions" });
  bar.append(el("button", { type: "button", onclick: () => ctx.reply(m) }, "Reply"));
  const replies = ctx.replies(m.id);
  if (replies > 0 || m.reply_to) {
    bar.append(
      el("button", { type: "button", onclick: () => ctx.thread(m.id) }, replies > 0 ? `Thread (${replies})` : "Thread"),
    );
  }
  let picker = null;
  const reactBtn = el("button", { type: "button", "aria-expanded": "false" }, "React");
  const close = () => {
    if (picker) picker.hidden = true;
    reactBtn.setAttribute("aria-expanded", "false");
  };
  reactBtn.addEventListener("click", () => {
    if (!picker) {
      picker = emojiPicker((emoji) => {
        close();
        ctx.react(m, emoji);
      });
      picker.hidden = true;
      picker.addEventListener("keydown", (ev) => {
        if (ev.key === "Escape") {
          close();
          reactBtn.focus();
        }
      });
      row.append(picker);
    }
    picker.hidden = !picker.hidden;
    reactBtn.setAttribute("aria-expanded", String(!picker.hidden));
    if (!picker.hidden) picker.querySelector("button").focus();
  });
  bar.append(reactBtn);
  if (mine) bar.append(el("button", { type: "button", onclick: () => ctx.edit(m) }, "Edit"), deleteButton(m, ctx));
  for (const hide of hideActions(m)) {
    bar.append(el("button", { type: "button", class: "danger", title: hide.title, onclick: () => ctx.hide(m, hide.scope) },
      hide.label));
  }
  return bar;
}

/** Turn the text block of ``row`` into an editor; ``save(text)`` returns a promise, then ``after()``. */
export function startEdit(row, m, save, after) {
  const body = row.querySelector(".text");
  if (!body || row.querySelector(".edit-form")) return;
  const area = el("textarea", { "aria-label": "Edit message", rows: 2, dir: "auto" });
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
