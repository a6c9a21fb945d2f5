// Belfry's browser client for the belfry.v1 socket protocol (docs/protocol.md).
// A dependency-free ES module:
//
//   import { BelfryClient } from "https://belfry.example.org/client/belfry.js";
//   const client = new BelfryClient("wss://belfry.example.org/ws", { getToken: async () => jwt });
//   client.on("message:delivered", (event) => render(event));
//   client.on("reset", ({ room }) => refetch(room));
//   client.connect();
//
// It authenticates with the subprotocol header, reconnects with exponential backoff and full
// jitter, resumes every room from the last seq it saw, and drops events it has already seen.
// When a room's history no longer reaches back far enough (a "reset"), it fetches the chat
// messages it missed from the server's store and emits them as "chat:message" events with
// `replayed: true` (possibly after newer live ones: order chat by `id`), then "caught-up".
//
// Where a socket cannot be opened at all (a proxy that refuses WebSockets), a client given
// `poll` paths falls back to polling them after a few connects that never opened: it emits
// "polling" `{ polling: true }`, then a "poll" event `{ path, body }` each time a path's answer
// changes (asked with If-None-Match, so an unchanged one costs a 304), and keeps trying the
// socket; once one opens it stops polling and emits "polling" `{ polling: false }`.

const PROTOCOL = "belfry.v1";
/// Closes after which the same token cannot work: a new one is needed.
const AUTH_CLOSES = new Set([4001, 4003, 4004]);

export class BelfryClient {
  #url;
  #options;
  #socket = null;
  #rooms = new Map();
  #listeners = new Map();
  #attempt = 0;
  #stopped = false;
  #timer = null;
  /** The newest chat message id seen per room. */
  #lastChat = new Map();
  /** Rooms catching up on chat after a reset: `{ after, seen }`. */
  #catchingUp = new Map();
  /** Connects in a row that never opened. */
  #neverOpened = 0;
  #pollTimer = null;
  /** The ETag of each polled path's last answer. */
  #etags = new Map();

  /**
   * @param {string} url the socket URL, e.g. "wss://belfry.example.org/ws"
   * @param {object} options `token` or `getToken` (an async function, called on every connect),
   *   `initialDelayMs` (500), `maxDelayMs` (30000), `WebSocket` (an implementation to use),
   *   `poll` (`{ paths: ["/api/messages/history"], intervalMs: 3000, afterFailures: 3 }`: what
   *   to poll when no socket can be opened)
   */
  constructor(url, options = {}) {
    this.#url = url;
    this.#options = { initialDelayMs: 500, maxDelayMs: 30000, ...options };
  }

  /** Whether the client is polling because no socket could be opened. */
  get polling() {
    return this.#pollTimer !== null;
  }

  /** Listens to a frame type ("message:delivered", "chat:message", …) or to "open", "close",
   * "event" (every numbered event), "welcome", "joined", "resumed", "reset", "caught-up",
   * "error", "auth-required". Returns a function that stops listening. */
  on(type, listener) {
    if (!this.#listeners.has(type)) this.#listeners.set(type, new Set());
    this.#listeners.get(type).add(listener);
    return () => this.off(type, listener);
  }

  off(type, listener) {
    this.#listeners.get(type)?.delete(listener);
  }

  once(type, listener) {
    const stop = this.on(type, (payload) => {
      stop();
      listener(payload);
    });
    return stop;
  }

  /** Where this client is in each room: `{ "church:1": { epoch, seq } }`. */
  get rooms() {
    return Object.fromEntries([...this.#rooms].map(([room, at]) => [room, { ...at }]));
  }

  get connected() {
    return this.#socket?.readyState === 1;
  }

  async connect() {
    this.#stopped = false;
    clearTimeout(this.#timer);
    const token = this.#options.getToken ? await this.#options.getToken() : this.#options.token;
    const url = new URL(this.#url);
    const resume = [...this.#rooms]
      .map(([room, at]) => `${room}:${at.epoch}:${at.seq}`)
      .join(",");
    if (resume) url.searchParams.set("resume", resume);
    const Socket = this.#options.WebSocket ?? globalThis.WebSocket;
    const socket = new Socket(url.toString(), [PROTOCOL, `bearer.${token}`]);
    this.#socket = socket;
    let opened = false;
    socket.onopen = () => {
      opened = true;
      this.#attempt = 0;
      this.#neverOpened = 0;
      this.#stopPolling();
      this.#emit("open", { url: this.#url });
    };
    socket.onmessage = (message) => this.#receive(message.data);
    socket.onclose = (event) => {
      if (!opened) this.#neverOpened += 1;
      this.#closed(socket, event);
    };
  }

  /** Sends a frame; `false` when not connected. */
  send(frame) {
    if (!this.connected) return false;
    this.#socket.send(JSON.stringify(frame));
    return true;
  }

  /** Hands the server a fresh token before the current one expires. */
  refreshToken(token) {
    if (!this.#options.getToken) this.#options.token = token;
    return this.send({ type: "auth", token });
  }

  /** Closes for good: no reconnect. */
  close() {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#stopPolling();
    this.#socket?.close(1000);
  }

  #emit(type, payload) {
    for (const listener of [...(this.#listeners.get(type) ?? [])]) {
      try {
        listener(payload);
      } catch (error) {
        console.error(`belfry: a "${type}" listener failed`, error);
      }
    }
  }

  #receive(text) {
    let frame;
    try {
      frame = JSON.parse(text);
    } catch {
      return;
    }
    switch (frame.type) {
      case "joined":
      case "reset":
        this.#rooms.set(frame.room, { epoch: frame.epoch, seq: frame.seq });
        this.#emit(frame.type, frame);
        if (frame.type === "reset" && this.#lastChat.has(frame.room)) this.#catchUp(frame.room);
        return;
      case "chat:history":
        this.#replay(frame);
        return;
      case "welcome":
      case "resumed":
      case "error":
        this.#emit(frame.type, frame);
        return;
    }
    if (typeof frame.room === "string" && typeof frame.seq === "number") {
      const at = this.#rooms.get(frame.room);
      // Already seen (a resume may repeat what arrived live just before it).
      if (at && at.epoch === frame.epoch && frame.seq <= at.seq) return;
      this.#rooms.set(frame.room, { epoch: frame.epoch, seq: frame.seq });
      if (frame.type === "chat:message" && !this.#freshChat(frame.room, frame.id)) return;
      this.#emit("event", frame);
    }
    this.#emit(frame.type, frame);
  }

  /** Records a chat message id; `false` when it was already emitted by a catch-up. */
  #freshChat(room, id) {
    const catchingUp = this.#catchingUp.get(room);
    if (catchingUp) {
      if (catchingUp.seen.has(id)) return false;
      catchingUp.seen.add(id);
    }
    if (id > (this.#lastChat.get(room) ?? 0)) this.#lastChat.set(room, id);
    return true;
  }

  /** Asks for the chat messages after the last one seen before the reset (continuing a
   * catch-up a dropped connection cut short). */
  #catchUp(room) {
    if (!this.#catchingUp.has(room)) {
      this.#catchingUp.set(room, { after: this.#lastChat.get(room), seen: new Set() });
    }
    this.send({ type: "chat:history", room, after: this.#catchingUp.get(room).after });
  }

  #replay(page) {
    const catchingUp = this.#catchingUp.get(page.room);
    if (!catchingUp) return;
    for (const message of page.messages) {
      catchingUp.after = message.id;
      if (!this.#freshChat(page.room, message.id)) continue;
      this.#emit("chat:message", { ...message, type: "chat:message", replayed: true });
    }
    if (page.more) {
      this.send({ type: "chat:history", room: page.room, after: catchingUp.after });
    } else {
      this.#catchingUp.delete(page.room);
      this.#emit("caught-up", { room: page.room });
    }
  }

  #closed(socket, event) {
    if (this.#socket !== socket) return;
    this.#socket = null;
    this.#emit("close", { code: event.code, reason: event.reason });
    if (this.#stopped) return;
    if (AUTH_CLOSES.has(event.code) && !this.#options.getToken) {
      this.#emit("auth-required", { code: event.code, reason: event.reason });
      return;
    }
    const poll = this.#options.poll;
    if (poll?.paths?.length && this.#neverOpened >= (poll.afterFailures ?? 3)) this.#startPolling();
    const ceiling = Math.min(
      this.#options.maxDelayMs,
      this.#options.initialDelayMs * 2 ** this.#attempt,
    );
    this.#attempt += 1;
    const delay = Math.random() * ceiling;
    this.#timer = setTimeout(() => {
      this.connect().catch((error) => {
        this.#emit("error", { code: "connect_failed", message: String(error) });
        this.#closed(this.#socket, { code: 1006, reason: "connect failed" });
      });
    }, delay);
  }

  #startPolling() {
    if (this.#pollTimer !== null) return;
    const { paths, intervalMs = 3000 } = this.#options.poll;
    const tick = () => paths.forEach((path) => this.#pollOnce(path));
    this.#pollTimer = setInterval(tick, intervalMs);
    this.#emit("polling", { polling: true, intervalMs });
    tick();
  }

  #stopPolling() {
    if (this.#pollTimer === null) return;
    clearInterval(this.#pollTimer);
    this.#pollTimer = null;
    this.#emit("polling", { polling: false });
  }

  async #pollOnce(path) {
    try {
      const token = this.#options.getToken ? await this.#options.getToken() : this.#options.token;
      const base = new URL(this.#url);
      base.protocol = base.protocol === "wss:" ? "https:" : "http:";
      const headers = { authorization: `Bearer ${token}` };
      const etag = this.#etags.get(path);
      if (etag) headers["if-none-match"] = etag;
      const response = await fetch(new URL(path, base), { headers, cache: "no-store" });
      if (response.status === 304) return;
      if (!response.ok) {
        this.#emit("error", { code: "poll_failed", message: `${path}: ${response.status}` });
        return;
      }
      const body = await response.json();
      const tag = response.headers.get("etag");
      if (tag) this.#etags.set(path, tag);
      if (this.#pollTimer !== null) this.#emit("poll", { path, body });
    } catch (error) {
      this.#emit("error", { code: "poll_failed", message: String(error) });
    }
  }
}
