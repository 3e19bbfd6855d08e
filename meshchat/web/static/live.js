// One WebSocket per tab (docs/live-api.md). It keeps the highest cursor seen and resumes
// from it after a reconnect, so nothing is lost or shown twice. Retries back off only to
// MAX_BACKOFF_MS, so a restored link is used within seconds; "Reconnect now", the
// browser's "online" event and any answer from the node over HTTP retry at once.

const PING_EVERY_MS = 50000; // keeps radio-link NAT/proxies awake; ~60 bytes a minute
const PONG_WAIT_MS = 15000;
const FIRST_BACKOFF_MS = 500;
const MAX_BACKOFF_MS = 5000; // a try costs one small HTTP upgrade: cheap even on a radio link
const ANSWER_RETRY_MS = 2000; // at most this often because an HTTP call got through

export class Live {
  constructor(zone, { onEvent, onState, onDown }) {
    this.zone = zone;
    this.onEvent = onEvent;
    this.onState = onState;
    this.onDown = onDown;
    this.cursor = null;
    this.ws = null;
    this.closed = false;
    this.failures = 0;
    this.retryTimer = null;
    this.pingTimer = null;
    this.pongTimer = null;
    this.retryAt = null; // when the next try starts (ms), while offline
    this.lastTry = 0;
    this.reconnectNow = () => this.retry(0);
    window.addEventListener("online", this.reconnectNow);
  }

  /** The node answered an HTTP call: the link is back, so do not wait out the back-off. */
  linkAnswered() {
    if (!this.ws && !this.closed && Date.now() - this.lastTry > ANSWER_RETRY_MS) this.retry(0);
  }

  connect() {
    if (this.closed) return;
    clearTimeout(this.retryTimer);
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    let url = `${proto}//${location.host}/api/v1/ws?zone=${encodeURIComponent(this.zone)}`;
    if (this.cursor !== null) url += `&cursor=${this.cursor}`;
    this.retryAt = null;
    this.lastTry = Date.now();
    this.onState("connecting");
    const ws = new WebSocket(url);
    this.ws = ws;
    ws.onmessage = (ev) => {
      let frame;
      try {
        frame = JSON.parse(ev.data);
      } catch (err) {
        return;
      }
      if (frame.type === "pong") {
        clearTimeout(this.pongTimer);
        return;
      }
      if (frame.type === "hello") {
        this.failures = 0;
        this.onState("live");
        this.schedulePing();
      }
      if (typeof frame.cursor === "number" && (this.cursor === null || frame.cursor > this.cursor)) {
        this.cursor = frame.cursor;
      }
      if (frame.type === "reset") this.cursor = null;
      this.onEvent(frame);
    };
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.ws = null;
      clearTimeout(this.pingTimer);
      clearTimeout(this.pongTimer);
      if (this.closed) return;
      this.failures += 1;
      const backoff = Math.min(MAX_BACKOFF_MS, FIRST_BACKOFF_MS * 2 ** Math.min(this.failures - 1, 5));
      this.retry(Math.min(MAX_BACKOFF_MS, backoff * (0.8 + Math.random() * 0.4)));
      this.onDown();
    };
  }

  retry(delay) {
    if (this.closed || this.ws) return; // already connected or connecting
    clearTimeout(this.retryTimer);
    this.retryAt = Date.now() + delay;
    this.onState("offline");
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }

  schedulePing() {
    clearTimeout(this.pingTimer);
    this.pingTimer = setTimeout(() => {
      if (!this.send({ type: "ping" })) return;
      this.pongTimer = setTimeout(() => this.ws && this.ws.close(), PONG_WAIT_MS);
      this.schedulePing();
    }, PING_EVERY_MS);
  }

  /** Send a client frame; false when the socket is not open. */
  send(frame) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(frame));
    return true;
  }

  close() {
    this.closed = true;
    clearTimeout(this.retryTimer);
    clearTimeout(this.pingTimer);
    clearTimeout(this.pongTimer);
    window.removeEventListener("online", this.reconnectNow);
    if (this.ws) this.ws.close();
    this.ws = null;
  }
}
