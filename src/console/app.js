// The console: sign-in, the navigation, and the page the address names (`#/messages`).
// Pages are functions that draw into <main> and return a function that undoes their
// listeners when another page is shown.

import { session, onSessionChange, signIn, signOut } from "/console/session.js";
import { h, field } from "/console/dom.js";
import { startLive, stopLive, onLiveState, liveState } from "/console/live.js";
import { renderMessages } from "/console/messages.js";
import { renderMembers } from "/console/members.js";
import { renderGroups } from "/console/groups.js";
import { renderDashboard } from "/console/dashboard.js";
import { renderSettings } from "/console/settings.js";
import { renderChat } from "/console/chat.js";
import { renderConversations } from "/console/conversations.js";
import { renderAnalytics } from "/console/analytics.js";
import { renderNotifications } from "/console/notifications.js";
import { notificationBadge, startBadge, stopBadge } from "/console/notification_badge.js";

const PAGES = [
  { path: "messages", name: "Messages", render: renderMessages, church: true },
  { path: "members", name: "Members", render: renderMembers, church: true },
  { path: "groups", name: "Groups", render: renderGroups, church: true },
  { path: "conversations", name: "Conversations", render: renderConversations, church: true },
  { path: "chat", name: "Chat", render: renderChat, church: true },
  { path: "analytics", name: "Analytics", render: renderAnalytics },
  { path: "notifications", name: "Notifications", render: renderNotifications },
  { path: "settings", name: "Settings", render: renderSettings },
  { path: "dashboard", name: "Dashboard", render: renderDashboard, admin: true },
];

let leave = () => {};

function show() {
  leave();
  leave = () => {};
  const main = document.getElementById("main");
  const nav = document.getElementById("nav");
  const who = document.getElementById("who");
  const current = session();
  if (!current) {
    nav.hidden = true;
    who.replaceChildren();
    stopBadge();
    stopLive();
    renderSignIn(main);
    return;
  }
  // Operators belong to no church: they see the platform's pages only.
  const pages = PAGES.filter((p) =>
    (!p.admin || ["admin", "operator"].includes(current.user.role)) &&
    (!p.church || current.user.churchId !== null));
  const wanted = location.hash.replace(/^#\/?/, "");
  // Operators start on the Dashboard: their other pages are about one church they pick.
  const start = current.user.role === "operator" ? "dashboard" : pages[0].path;
  const page = pages.find((p) => p.path === wanted) ?? pages.find((p) => p.path === start);
  nav.hidden = false;
  nav.replaceChildren(...pages.flatMap((p) => {
    const link = h("a", { href: `#/${p.path}`, "aria-current": p === page ? "page" : false }, p.name);
    return p.path === "notifications" ? [link, notificationBadge()] : [link];
  }));
  const liveText = h("span", { class: "live", "aria-live": "polite" });
  const describe = (state) => (liveText.textContent = {
    live: "Live", connecting: "Connecting…", reconnecting: "Reconnecting…", offline: "Offline",
    polling: "No live connection: checking every 3 s",
  }[state]);
  const stopState = onLiveState(describe);
  who.replaceChildren(liveText, h("span", {}, current.user.name),
    h("button", { type: "button", onclick: () => signOut() }, "Sign out"));
  startLive();
  startBadge();
  describe(liveState());
  const stopPage = page.render(main) ?? (() => {});
  leave = () => {
    stopState();
    stopPage();
  };
  document.title = `${page.name} · Belfry`;
}

function renderSignIn(main) {
  document.title = "Sign in · Belfry";
  const email = h("input", { type: "email", name: "email", autocomplete: "username", required: true });
  const password = h("input", { type: "password", name: "password", autocomplete: "current-password", required: true });
  const error = h("p", { class: "error", role: "alert" });
  const button = h("button", { type: "submit" }, "Sign in");
  const form = h("form", { class: "card signin", onsubmit: async (e) => {
    e.preventDefault();
    error.textContent = "";
    button.disabled = true;
    try {
      await signIn(email.value, password.value);
    } catch (e) {
      error.textContent = e.message;
      button.disabled = false;
    }
  } },
    h("h1", {}, "Sign in to Belfry"),
    ...field("Email", email),
    ...field("Password", password),
    error,
    button);
  main.replaceChildren(form);
  email.focus();
}

onSessionChange(show);
addEventListener("hashchange", show);
show();
// The first page is drawn and its controls work: what the page-load benchmark times.
performance.mark("belfry:ready");
