// One WebSocket per tab (docs/live-api.md). It keeps the highest cursor seen and resumes
// from it after a reconnect, so nothing is lost or shown twice.

const PING_EVERY_MS = 50000; // keeps radio-link NAT/proxies awake; ~60 bytes a minute
const PONG_WAIT_MS = 15000;
const MAX_BACKOFF_MS = 30000;

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
    this.reconnectNow = () => this.retry(0);
    window.addEventListener("online", this.reconnectNow);
  }

  connect() {
    if (this.closed) return;
    clearTimeout(this.retryTimer);
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    let url = `${proto}//${location.host}/api/v1/ws?zone=${encodeURIComponent(this.zone)}`;
    if (this.cursor !== null) url += `&cursor=${this.cursor}`;
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
      this.onState("offline");
      this.failures += 1;
      const backoff = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** Math.min(this.failures - 1, 5));
      this.retry(backoff * (0.8 + Math.random() * 0.4));
      this.onDown();
    };
  }

  retry(delay) {
    if (this.closed || this.ws) return; // already connected or connecting
    clearTimeout(this.retryTimer);
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
