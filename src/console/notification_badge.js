// The unread-notifications badge beside the navigation's Notifications link: read once from
// the counts, then kept by the socket's `notification:counts` events (any tab's change), and
// read again after a reset of the user's room.

import { api } from "/console/session.js";
import { h } from "/console/dom.js";
import { onLive } from "/console/live.js";

let unread = 0;
let current = null;
let stop = null;

function paint() {
  if (!current) return;
  current.hidden = unread === 0;
  current.textContent = String(unread);
  current.setAttribute("aria-label", `${unread} unread notifications`);
}

/** The user's unread count is now `n`. */
export function setUnread(n) {
  unread = n;
  paint();
}

/** The badge to show now (it replaces the one drawn before). */
export function notificationBadge() {
  current = h("span", { class: "badge", role: "status" });
  paint();
  return current;
}

async function refresh() {
  try {
    setUnread((await api("GET", "/api/notifications/counts")).unread);
  } catch {
    // The next counts event sets it.
  }
}

/** Keeps the badge for the signed-in user (once). */
export function startBadge() {
  if (stop) return;
  const stopCounts = onLive("notification:counts", (counts) => setUnread(counts.unread));
  const stopReset = onLive("reset", ({ room }) => {
    if (room.startsWith("user:")) refresh();
  });
  stop = () => {
    stopCounts();
    stopReset();
  };
  refresh();
}

export function stopBadge() {
  stop?.();
  stop = null;
  setUnread(0);
}
