// Uploading a file from the composer (DESIGN §5.4): pick a file, see its name and size,
// refused at once when it is over this node's limit, then sent with a progress bar to
// POST /api/v1/files into the current channel. XMLHttpRequest, not fetch: only it reports
// upload progress.

import * as api from "./api.js";
import { $, el } from "./dom.js";
import { icon } from "./icons.js";
import { humanSize } from "./files.js";
import { S } from "./state.js";

let limit = null; // this node's files.max_file_bytes, asked once
let picked = null;
let sending = null; // the XMLHttpRequest in flight

async function maxBytes() {
  if (limit === null) limit = (await api.get("files", { zone: S.zone, limit: 1 })).max_file_bytes;
  return limit;
}

function target() {
  const v = S.view;
  return { zone: S.zone, channel: v.kind === "channel" ? v.name : "" };
}

function where() {
  const t = target();
  return t.channel ? "#" + t.channel : "Everything";
}

function show(state) {
  $("upload-bar").hidden = false;
  $("upload-name").textContent = picked ? `${picked.name} (${humanSize(picked.size)})` : "";
  $("upload-send").hidden = state !== "ready";
  $("upload-caption").hidden = state !== "ready";
  $("upload-progress").hidden = state !== "sending";
}

function close() {
  if (sending) sending.abort();
  sending = null;
  picked = null;
  $("upload-bar").hidden = true;
  $("upload-error").textContent = "";
  $("upload-caption").value = "";
  $("upload-input").value = "";
}

async function pick() {
  const file = $("upload-input").files[0];
  if (!file) return;
  picked = file;
  $("upload-error").textContent = "";
  show("checking");
  let max;
  try {
    max = await maxBytes();
  } catch (err) {
    $("upload-error").textContent = "Cannot ask the node for its file limit: " + err.message;
    return;
  }
  if (file.size > max) {
    $("upload-error").textContent =
      `${file.name} is ${humanSize(file.size)}; this node takes files up to ${humanSize(max)}.`;
    return;
  }
  $("upload-where").textContent = `to ${where()}`;
  show("ready");
  $("upload-caption").focus();
}

function send() {
  if (!picked || sending) return;
  const form = new FormData();
  const t = target();
  form.append("zone", t.zone);
  form.append("channel", t.channel);
  const caption = $("upload-caption").value.trim();
  if (caption) form.append("caption", caption);
  form.append("file", picked, picked.name);
  const xhr = new XMLHttpRequest();
  sending = xhr;
  const bar = $("upload-progress");
  bar.value = 0;
  show("sending");
  xhr.upload.addEventListener("progress", (ev) => {
    if (ev.lengthComputable) bar.value = ev.loaded / ev.total;
  });
  xhr.addEventListener("load", () => {
    sending = null;
    if (xhr.status === 201) {
      close();
      return;
    }
    let detail = `HTTP ${xhr.status}`;
    try {
      detail = JSON.parse(xhr.responseText).detail || detail;
    } catch (err) {
      // not JSON: keep the status
    }
    $("upload-error").textContent = "Not sent: " + detail;
    show("ready");
  });
  xhr.addEventListener("error", () => {
    sending = null;
    $("upload-error").textContent = "Not sent: the node did not answer; check the link and try again.";
    show("ready");
  });
  xhr.open("POST", "/api/v1/files");
  xhr.setRequestHeader("X-CSRF-Token", api.csrfToken() || "");
  xhr.send(form);
}

/** Add the attach button and the upload bar to the composer (once, at boot). */
export function wireUploads() {
  const input = el("input", { type: "file", id: "upload-input", hidden: true, onchange: pick });
  const attach = el("button", {
    type: "button",
    id: "attach",
    class: "icon-btn",
    "aria-label": "Attach a file",
    title: "Share a file in this channel",
    onclick: () => input.click(),
  }, icon("clip"));
  $("share-geo").after(attach, input);
  const bar = el(
    "div",
    { id: "upload-bar", class: "upload-bar", hidden: true, role: "group", "aria-label": "File to send" },
    el("span", { id: "upload-name", class: "upload-name" }),
    el("span", { id: "upload-where", class: "muted" }),
    el("label", { for: "upload-caption", class: "visually-hidden" }, "Caption"),
    el("input", { id: "upload-caption", placeholder: "Caption (optional)", maxlength: 2000 }),
    el("progress", { id: "upload-progress", max: 1, value: 0, "aria-label": "Upload progress" }),
    el("button", { type: "button", id: "upload-send", onclick: send }, "Send file"),
    el("button", { type: "button", class: "icon-btn", "aria-label": "Cancel the file", onclick: close }, "✕"),
    el("p", { id: "upload-error", class: "error", role: "alert" }),
  );
  $("geo-bar").after(bar);
  $("upload-caption").addEventListener("keydown", (ev) => {
    if (ev.key === "Enter") {
      ev.preventDefault();
      send();
    }
  });
}

/** Files go to channels: no attach button in a direct conversation. */
export function showAttach() {
  const attach = $("attach");
  if (attach) attach.hidden = S.view.kind === "dm";
  if (S.view.kind === "dm") close();
}
