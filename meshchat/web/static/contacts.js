// Offline notices in the settings panel: the addresses (SMS number, e-mail) the node's
// mention_offline rules may reach the user at. They stay on this node (GET, POST and
// DELETE /api/v1/contacts); nothing here enters the replicated log.

import * as api from "./api.js";
import { $, clear, el } from "./dom.js";

const BOX = "contacts";

async function refresh(list, error) {
  let reply;
  try {
    reply = await api.get("contacts");
  } catch (err) {
    error.textContent = "Could not read your addresses: " + err.message;
    return;
  }
  clear(list);
  for (const c of reply.contacts) {
    const remove = el("button", { type: "button", class: "link-btn", "aria-label": `Remove ${c.address}` }, "remove");
    remove.addEventListener("click", async () => {
      try {
        await api.del(`contacts/${c.id}`);
        await refresh(list, error);
      } catch (err) {
        error.textContent = err.message;
      }
    });
    list.append(el("li", null, `${c.kind}: ${c.address} `, remove));
  }
  if (!reply.contacts.length) list.append(el("li", { class: "muted" }, "none yet"));
}

/** Show the user's addresses for offline notices under ⚙ (once per session start). */
export function showContacts() {
  const old = $(BOX);
  if (old) old.remove();
  const list = el("ul", { class: "contact-list", "aria-label": "Your addresses" });
  const error = el("p", { class: "error", role: "alert" });
  const kind = el("select", { id: "contact-kind", "aria-label": "Kind of address" },
    el("option", { value: "sms" }, "SMS"), el("option", { value: "email" }, "e-mail"));
  const address = el("input", { id: "contact-address", maxlength: 254, required: true,
    placeholder: "+15551234567 or name@example.org", "aria-label": "Address" });
  const form = el("form", { class: "inline-form" }, kind, address, el("button", { type: "submit" }, "Add"));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    error.textContent = "";
    try {
      await api.post("contacts", { kind: kind.value, address: address.value });
      address.value = "";
      await refresh(list, error);
    } catch (err) {
      error.textContent = err.message;
    }
  });
  const box = el("div", { id: BOX, class: "contacts" },
    el("span", { title: "Kept on this node only. Its action rules may notify you here when you are mentioned while away." },
      "Notify me while I am away at:"), list, form, error);
  $("settings").append(box);
  refresh(list, error);
}
