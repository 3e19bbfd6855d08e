// Long messages fold after a few lines with "Show more" (a 30 KB message would otherwise
// fill many screens). Which ones were opened is remembered for the tab, so a redraw of
// the row (a reaction, an edit) keeps it open.

import { el } from "./dom.js";

const LINES = 8; // what a folded message shows (style.css: .text.folded)
const CHARS = 600; // shorter texts fit in that on any screen but the narrowest
const opened = new Set();

/** Mark ``body`` (the text of message ``id``) as folded when it may be long; return its button. */
export function foldable(body, id, text) {
  if (text.length < CHARS && text.split("\n").length <= LINES) return null;
  const button = el("button", { type: "button", class: "fold link-btn", "aria-expanded": "false" }, "Show more");
  const show = (open) => {
    body.classList.toggle("folded", !open);
    button.textContent = open ? "Show less" : "Show more";
    button.setAttribute("aria-expanded", String(open));
    if (open) opened.add(id);
    else opened.delete(id);
  };
  button.addEventListener("click", () => show(body.classList.contains("folded")));
  body.classList.add("foldable");
  show(opened.has(id));
  return button;
}

/** Unfold what turned out to fit in the folded height after all (measured once shown). */
export function settleFolds(root) {
  for (const body of root.querySelectorAll(".text.folded:not([data-measured])")) {
    if (!body.clientHeight) continue; // not laid out (a hidden panel): measure when shown
    body.dataset.measured = "1";
    if (body.scrollHeight <= body.clientHeight + 2) {
      body.classList.remove("folded", "foldable");
      const button = body.nextElementSibling;
      if (button && button.classList.contains("fold")) button.remove();
    }
  }
}
