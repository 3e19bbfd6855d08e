// Inline SVG icons for the page's controls, so a kiosk or a browser with no emoji font
// still shows every button (DESIGN §6: vendored, nothing from the internet). Each icon
// is a few strokes on a 24-unit grid, drawn in the text colour; the control around it
// carries the words (aria-label or text), the icon is only decoration.

import { svg } from "./dom.js";

const PATHS = {
  menu: ["M4 6h16", "M4 12h16", "M4 18h16"],
  gear: [
    "M12 15.5a3.5 3.5 0 1 0 0-7 3.5 3.5 0 0 0 0 7z",
    "M19.4 15a1.7 1.7 0 0 0 .3 1.8l.1.1a2 2 0 1 1-2.8 2.8l-.1-.1a1.7 1.7 0 0 0-1.8-.3 " +
      "1.7 1.7 0 0 0-1 1.5V21a2 2 0 1 1-4 0v-.1a1.7 1.7 0 0 0-1.1-1.5 1.7 1.7 0 0 0-1.8.3" +
      "l-.1.1a2 2 0 1 1-2.8-2.8l.1-.1a1.7 1.7 0 0 0 .3-1.8 1.7 1.7 0 0 0-1.5-1H3a2 2 0 1 1 " +
      "0-4h.1a1.7 1.7 0 0 0 1.5-1.1 1.7 1.7 0 0 0-.3-1.8l-.1-.1a2 2 0 1 1 2.8-2.8l.1.1a1.7 " +
      "1.7 0 0 0 1.8.3H9a1.7 1.7 0 0 0 1-1.5V3a2 2 0 1 1 4 0v.1a1.7 1.7 0 0 0 1 1.5 1.7 1.7 " +
      "0 0 0 1.8-.3l.1-.1a2 2 0 1 1 2.8 2.8l-.1.1a1.7 1.7 0 0 0-.3 1.8V9a1.7 1.7 0 0 0 1.5 " +
      "1H21a2 2 0 1 1 0 4h-.1a1.7 1.7 0 0 0-1.5 1z",
  ],
  close: ["M6 6l12 12", "M18 6L6 18"],
  plus: ["M12 5v14", "M5 12h14"],
  pin: ["M12 21s-7-6.2-7-11.5a7 7 0 0 1 14 0C19 14.8 12 21 12 21z", "M12 12.5a3 3 0 1 0 0-6 3 3 0 0 0 0 6z"],
  search: ["M10.5 17a6.5 6.5 0 1 0 0-13 6.5 6.5 0 0 0 0 13z", "M15.5 15.5L21 21"],
  clip: ["M21 11.5l-8.6 8.6a5 5 0 0 1-7.1-7.1l8.6-8.6a3.3 3.3 0 0 1 4.7 4.7l-8.6 8.6a1.7 1.7 0 0 1-2.4-2.4l8-8"],
  down: ["M12 5v14", "M6 13l6 6 6-6"],
  smile: ["M12 21a9 9 0 1 0 0-18 9 9 0 0 0 0 18z", "M8.5 14.5a4.5 4.5 0 0 0 7 0", "M9 9.5h.01", "M15 9.5h.01"],
  refresh: ["M20 12a8 8 0 1 1-2.3-5.7", "M20 4v5h-5"],
  check: ["M5 12.5l4.5 4.5L19 7.5"],
  alert: ["M12 3l9.5 17h-19z", "M12 10v4.5", "M12 17.5h.01"],
  lock: ["M6 11h12v9H6z", "M8.5 11V8a3.5 3.5 0 0 1 7 0v3"],
};

/** An icon by name, hidden from assistive technology (its control carries the words). */
export function icon(name, extraClass) {
  const node = svg("svg", {
    viewBox: "0 0 24 24",
    class: extraClass ? `icon ${extraClass}` : "icon",
    "aria-hidden": "true",
    focusable: "false",
  });
  for (const d of PATHS[name] || []) node.append(svg("path", { d }));
  return node;
}

/** Put its icon into every ``[data-icon]`` element of ``root`` (the page's own buttons). */
export function fillIcons(root) {
  for (const host of root.querySelectorAll("[data-icon]")) {
    if (!host.querySelector("svg.icon")) host.prepend(icon(host.dataset.icon));
  }
}
