// The page's one socket, through /client/belfry.js: it reconnects and resumes by itself; the
// pages listen to the events they show. Where no socket can be opened at all, the client polls
// the message list instead (pages listen to "poll"). The header says which.

import { BelfryClient } from "/client/belfry.js";
import { session } from "/console/session.js";

let client = null;
const stateListeners = new Set();
let state = "offline";

function setState(next) {
  state = next;
  for (const listener of stateListeners) listener(state);
}

export function liveState() {
  return state;
}

export function onLiveState(listener) {
  stateListeners.add(listener);
  return () => stateListeners.delete(listener);
}

/** What is polled when no socket opens: the list the Messages page shows. */
export const POLLED_HISTORY = "/api/messages/history?limit=20";
export const POLL_EVERY_MS = 3000;

/** Opens the socket for the signed-in user (once). */
export function startLive() {
  if (client) return;
  const url = new URL("/ws", location.href);
  url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
  client = new BelfryClient(url.href, {
    getToken: async () => session()?.token,
    poll: { paths: [POLLED_HISTORY], intervalMs: POLL_EVERY_MS, afterFailures: 3 },
  });
  client.on("open", () => setState("live"));
  client.on("close", () => setState(client?.polling ? "polling" : "reconnecting"));
  client.on("polling", ({ polling }) => setState(polling ? "polling" : "live"));
  client.on("auth-required", () => setState("offline"));
  setState("connecting");
  client.connect();
}

export function stopLive() {
  client?.close();
  client = null;
  setState("offline");
}

/** Listens to a socket event; returns a function that stops listening. */
export function onLive(type, listener) {
  if (!client) startLive();
  return client.on(type, listener);
}

/** Sends a frame on the socket; `false` when it is not open. */
export function sendLive(frame) {
  return client?.send(frame) ?? false;
}
