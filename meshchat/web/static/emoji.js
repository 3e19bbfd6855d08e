// Reactions: a small vendored emoji set with names, a picker that also takes any emoji
// typed or pasted, and a check whether this browser can draw emoji at all. Where it
// cannot (a Pi kiosk, a Debian browser with no emoji font) the page gets the class
// "no-emoji" and every reaction is shown by its name as well as its glyph.

import { el } from "./dom.js";

// [emoji, name]: the quick row first, then common ones on a net.
export const EMOJI = [
  ["👍", "thumbs up"], ["❤️", "heart"], ["😂", "laughing"], ["✅", "done"], ["👀", "looking"],
  ["🙏", "thanks"], ["👎", "thumbs down"], ["😮", "surprised"], ["😢", "sad"], ["🎉", "party"],
  ["🔥", "fire"], ["💯", "hundred"], ["👋", "wave"], ["🤝", "handshake"], ["💪", "strong"],
  ["🙂", "smile"], ["😀", "grin"], ["🤔", "thinking"], ["😴", "sleepy"], ["😅", "phew"],
  ["❓", "question"], ["❗", "important"], ["⚠️", "warning"], ["⛔", "stop"], ["🚨", "alarm"],
  ["📻", "radio"], ["📡", "antenna"], ["🔋", "battery"], ["⚡", "power"], ["🔌", "plug"],
  ["🚑", "ambulance"], ["🚒", "fire engine"], ["🚓", "police"], ["🏥", "hospital"], ["⛺", "shelter"],
  ["💧", "water"], ["🍲", "food"], ["⛽", "fuel"], ["🌧️", "rain"], ["🌪️", "tornado"],
  ["☀️", "sun"], ["❄️", "snow"], ["📍", "location"], ["🕐", "clock"], ["📋", "list"],
  ["👌", "ok"], ["📢", "announce"], ["73", "73 (best regards)"],
];

const NAMES = new Map(EMOJI.map(([e, name]) => [e.replace(/\uFE0F/g, ""), name]));

/** A name to read for ``emoji``: the vendored one, else its code points ("U+1F680"). */
export function emojiName(emoji) {
  const known = NAMES.get(emoji.replace(/\uFE0F/g, ""));
  if (known) return known;
  if (/^[\p{L}\p{N}\p{P}\s]+$/u.test(emoji)) return emoji; // plain text ("+1", "73")
  return [...emoji].map((c) => "U+" + c.codePointAt(0).toString(16).toUpperCase()).join(" ");
}

/** The glyph and, shown only when the browser has no emoji font, its name. */
export function emojiLabel(emoji) {
  return [
    el("span", { class: "emoji-glyph", "aria-hidden": "true" }, emoji),
    el("span", { class: "emoji-name" }, emojiName(emoji)),
  ];
}

/** Whether this browser draws an emoji differently from a character no font has. */
export function canDrawEmoji() {
  try {
    const canvas = document.createElement("canvas");
    canvas.width = canvas.height = 24;
    const ctx = canvas.getContext("2d", { willReadFrequently: true });
    if (!ctx) return true;
    const draw = (text) => {
      ctx.clearRect(0, 0, 24, 24);
      ctx.font = "20px sans-serif";
      ctx.textBaseline = "top";
      ctx.fillStyle = "#000";
      ctx.fillText(text, 0, 0);
      return ctx.getImageData(0, 0, 24, 24).data;
    };
    const emoji = draw("\u{1F44D}");
    for (let i = 0; i < emoji.length; i += 4) {
      const [r, g, b] = [emoji[i], emoji[i + 1], emoji[i + 2]];
      if (emoji[i + 3] && (r !== g || g !== b)) return true; // colour: an emoji font
    }
    const missing = draw("\u{10FFFD}"); // a private-use code point: a box, if anything
    return emoji.some((v, i) => v !== missing[i]);
  } catch (err) {
    return true;
  }
}

/** Mark the page "no-emoji" when the browser cannot draw emoji (once, at boot). */
export function checkEmojiFont() {
  document.documentElement.classList.toggle("no-emoji", !canDrawEmoji());
}

/**
 * A reaction picker: the vendored set as labelled buttons, and a field for any other
 * emoji. ``pick(emoji)`` is called with the choice.
 */
export function emojiPicker(pick) {
  const grid = el("div", { class: "emoji-grid", role: "group", "aria-label": "Reactions" });
  for (const [emoji, name] of EMOJI) {
    grid.append(
      el(
        "button",
        { type: "button", class: "emoji-btn", title: name, "aria-label": `React with ${emoji} ${name}`, onclick: () => pick(emoji) },
        ...emojiLabel(emoji),
      ),
    );
  }
  const other = el("input", { type: "text", class: "emoji-other", maxlength: "32", "aria-label": "Any other emoji", placeholder: "Any emoji" });
  const form = el(
    "form",
    { class: "emoji-form" },
    other,
    el("button", { type: "submit" }, "Add"),
  );
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const value = other.value.trim();
    if (value) pick(value);
  });
  return el("div", { class: "emoji-picker" }, grid, form);
}
