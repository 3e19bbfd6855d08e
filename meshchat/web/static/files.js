// Files in the UI (DESIGN §5.4): a file message's preview or download link, and the files
// view (#/files) listing every file of the zone, where it is, searchable by name. The
// node serves a file's own type only for raster images; everything else downloads.

import * as api from "./api.js";
import { $, clear, el } from "./dom.js";
import { icon } from "./icons.js";
import { clockTime, fullStamp, shortDate } from "./time.js";
import { S } from "./state.js";

// The same list as the node's (web/filenames.py): never SVG.
const PREVIEW = new Set(["image/png", "image/jpeg", "image/gif", "image/webp", "image/avif"]);
const REFRESH_MS = 10000;
let refreshTimer = null;
let searchTimer = null;

/** "812 B", "4.2 KB", "12.5 MB". */
export function humanSize(n) {
  if (typeof n !== "number" || n < 0) return "? B";
  if (n < 1000) return `${n} B`;
  const units = ["KB", "MB", "GB", "TB"];
  let value = n;
  let unit = -1;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

function fileUrl(sha256, id) {
  return `/api/v1/files/${sha256}?id=${id}`;
}

function downloadLink(name, url, size, mime) {
  return el(
    "div",
    { class: "file-link" },
    icon("clip"),
    " ",
    el("a", { href: url + "&download=1", download: name, title: `Download ${name}` }, name),
    el("span", { class: "muted" }, ` · ${humanSize(size)} · ${mime || "unknown type"}`),
  );
}

function notHere(box) {
  clear(box);
  box.append(el("span", { class: "muted file-missing" }, "Image not on this node (yet)."), " ");
  box.append(el("button", { type: "button", class: "link-btn", onclick: () => retry(box) }, "Try again"));
}

function retry(box) {
  clear(box);
  box.append(preview(box.dataset.url, box.dataset.name, box));
}

function preview(url, name, box) {
  const img = el("img", { src: url, alt: name, loading: "lazy", class: "file-preview" });
  img.addEventListener("error", () => notHere(box));
  return el("a", { href: url, target: "_blank", rel: "noopener", title: `Open ${name}` }, img);
}

/** The block a ``file`` message shows under its caption: a preview and a download link. */
export function fileBlock(m) {
  const f = m.file;
  const url = fileUrl(f.sha256, m.id);
  const block = el("div", { class: "file" });
  if (PREVIEW.has(f.mime)) {
    const box = el("div", { class: "file-figure", "data-url": url, "data-name": f.name });
    box.append(preview(url, f.name, box));
    block.append(box);
  }
  block.append(downloadLink(f.name, url, f.size, f.mime));
  return block;
}

function where(f) {
  if (f.legacy) {
    const label = `on legacy node ${f.node}`;
    return f.url
      ? el("a", { href: f.url, rel: "noopener noreferrer", target: "_blank" }, label)
      : el("span", null, label);
  }
  return el("span", { class: f.available ? "here" : "muted" }, f.available ? "on this node" : "not on this node");
}

function fileRow(f) {
  const name = f.legacy || !f.url
    ? el("span", null, f.name)
    : el("a", { href: f.url + "&download=1", download: f.name }, f.name);
  return el(
    "tr",
    null,
    el("td", { class: "file-name" }, name, f.caption ? el("div", { class: "muted" }, f.caption) : null),
    el("td", { class: "num" }, humanSize(f.size)),
    el("td", null, f.mime || "—"),
    el("td", null, f.legacy ? "—" : f.channel ? "#" + f.channel : "Everything"),
    el("td", null, f.callsign || "—"),
    el("td", null, el("time", { datetime: new Date(f.ts).toISOString(), title: fullStamp(f.ts) }, `${shortDate(f.ts)} ${clockTime(f.ts)}`)),
    el("td", null, where(f)),
  );
}

async function renderFiles() {
  const body = $("files-body");
  const note = $("files-note");
  let reply;
  try {
    reply = await api.get("files", { zone: S.zone, q: $("files-search").value.trim() || undefined });
  } catch (err) {
    note.textContent = "Files not loaded: " + err.message;
    return;
  }
  clear(body);
  for (const f of reply.files) body.append(fileRow(f));
  const held = reply.files.filter((f) => f.available).length;
  const usage = reply.usage || {};
  const replication = reply.replication && reply.replication.replicate ? "on" : "off";
  note.textContent =
    `${reply.files.length} file${reply.files.length === 1 ? "" : "s"}, ${held} on this node ` +
    `(${humanSize(usage.bytes)} of ${humanSize(usage.quota)}); replication ${replication}; ` +
    `files up to ${humanSize(reply.max_file_bytes)}.`;
  $("files-empty").hidden = reply.files.length > 0;
}

/** Show the files view (the router calls this for #/files) and keep it fresh while open. */
export function showFiles() {
  document.title = "Files · MeshChat";
  renderFiles();
  clearInterval(refreshTimer);
  refreshTimer = setInterval(() => {
    if ($("files-page").hidden) clearInterval(refreshTimer);
    else renderFiles();
  }, REFRESH_MS);
  $("files-title").focus({ preventScroll: true });
}

/** Wire the files view's search box once, at boot. */
export function wireFiles() {
  $("files-search-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    renderFiles();
  });
  $("files-search").addEventListener("input", () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(renderFiles, 250);
  });
}
