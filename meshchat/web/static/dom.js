// DOM building and text formatting. User content only ever becomes text nodes or
// attribute values set through the DOM API: no HTML parsing anywhere (DESIGN §6).

/** Build an element: el("a", {class: "x", href: url}, "text", child). */
export function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  if (attrs) {
    for (const [key, value] of Object.entries(attrs)) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : String(value));
    }
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(node, child);
    else node.append(typeof child === "string" ? document.createTextNode(child) : child);
  }
}

export function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
}

export const $ = (id) => document.getElementById(id);

const SVG_NS = "http://www.w3.org/2000/svg";

export function svg(tag, attrs, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, String(value));
  for (const child of children) {
    node.append(typeof child === "string" ? document.createTextNode(child) : child);
  }
  return node;
}

// Links, `code`, **bold**, _italics_ / *italics* and @mentions, in one left-to-right pass.
const TOKEN = new RegExp(
  [
    "(https?:\\/\\/[^\\s<>\"'`]+)", // 1 link
    "`([^`\\n]+)`", // 2 code
    "\\*\\*([^*\\n]+?)\\*\\*", // 3 bold
    "(?<![\\p{L}\\p{N}_])_([^_\\n]+?)_(?![\\p{L}\\p{N}_])", // 4 italics
    "(?<![\\p{L}\\p{N}*])\\*([^*\\s][^*\\n]*?)\\*(?![\\p{L}\\p{N}*])", // 5 italics
    "(?<![\\p{L}\\p{N}@])@([A-Za-z0-9][A-Za-z0-9/-]{0,19})", // 6 mention
  ].join("|"),
  "gu",
);
const TRAILING = /[.,;:!?)\]}'"]+$/;

/** Return nodes showing ``text`` with links and simple formatting, as text only. */
export function formatText(text, me, depth = 0) {
  const out = [];
  let last = 0;
  const re = new RegExp(TOKEN); // its own lastIndex: formatting nests (bold around a link)
  for (let m = re.exec(text); m; m = re.exec(text)) {
    if (m.index > last) out.push(document.createTextNode(text.slice(last, m.index)));
    last = re.lastIndex;
    if (m[1]) {
      let url = m[1];
      const tail = url.match(TRAILING);
      if (tail && !(tail[0].startsWith(")") && url.includes("("))) {
        url = url.slice(0, -tail[0].length);
        last -= tail[0].length;
        re.lastIndex = last;
      }
      out.push(el("a", { href: url, rel: "noopener noreferrer nofollow", target: "_blank" }, url));
    } else if (m[2]) {
      out.push(el("code", null, m[2]));
    } else if (m[3] || m[4] || m[5]) {
      const inner = m[3] || m[4] || m[5];
      const kids = depth < 2 ? formatText(inner, me, depth + 1) : [inner];
      out.push(el(m[3] ? "strong" : "em", null, kids));
    } else if (m[6]) {
      const call = m[6].toUpperCase();
      out.push(el("span", { class: call === me ? "mention me" : "mention" }, "@" + m[6]));
    }
  }
  if (last < text.length) out.push(document.createTextNode(text.slice(last)));
  return out;
}

/** The 6-character Maidenhead locator of a position in decimal degrees. */
export function maidenhead(lat, lon) {
  const up = "ABCDEFGHIJKLMNOPQR";
  const low = "abcdefghijklmnopqrstuvwx";
  let x = Math.min(Math.max(lon + 180, 0), 359.999999);
  let y = Math.min(Math.max(lat + 90, 0), 179.999999);
  const field = up[Math.floor(x / 20)] + up[Math.floor(y / 10)];
  x %= 20;
  y %= 10;
  const square = String(Math.floor(x / 2)) + String(Math.floor(y));
  x %= 2;
  y %= 1;
  return field + square + low[Math.floor(x * 12)] + low[Math.floor(y * 24)];
}

/** "12 s ago", "5 min ago", "3 h ago", "2 d ago". */
export function ago(ms) {
  const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} d ago`;
}

const CALLSIGN = /^[A-Z0-9](?:[A-Z0-9/-]{0,18}[A-Z0-9])?$/;

/** Trim and upper-case a callsign; null when it is not valid. */
export function normalizeCallsign(raw) {
  const call = String(raw || "").trim().toUpperCase();
  return CALLSIGN.test(call) ? call : null;
}

export const CALLSIGN_RULE =
  "A callsign is 1–20 letters, digits, / or -, starting and ending with a letter or digit " +
  "(for example W1AW, VE3/W1AW/P or EOC-1).";
