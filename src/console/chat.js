// Chat: the rooms the user may use (the church's, and channels), a room's messages (history
// from the API, new ones live), who is typing, who is online, and a box to send. Sending and
// typing go over the socket; names come from /api/chat/people. "@Name" in a message mentions
// that person (they are notified unless they read it soon); what arrives in the room open
// here, while the page is visible, is marked read, so mentions of this user are not notified.

import { api, session } from "/console/session.js";
import { h, field } from "/console/dom.js";
import { onLive, sendLive } from "/console/live.js";

const TYPING_RENEW_MS = 3000;

export function renderChat(main) {
  const stops = [];
  const names = new Map();
  const me = session().user.id;
  const nameOf = (id) => (id === me ? "You" : names.get(id) ?? `user ${id}`);

  const roomsNav = h("div", { class: "row", role: "group", "aria-label": "Rooms" });
  const title = h("h2", {});
  const log = h("ol", { class: "chat-log", "aria-live": "polite", "aria-label": "Messages" });
  const typing = h("p", { class: "hint", "aria-live": "polite" });
  const online = h("p", { class: "hint" });
  const text = h("input", { type: "text", maxlength: 4000, autocomplete: "off" });
  const error = h("p", { class: "error", role: "alert" });
  let room = null;
  const seen = new Set();
  let typingSince = 0;

  const line = (m) => {
    const forMe = (m.mentions ?? []).includes(me);
    return h("li", { "data-id": m.id, class: forMe ? "mentioned" : null },
      h("strong", {}, nameOf(m.userId)), " ", h("span", { class: "hint" },
        new Date(m.createdAt).toLocaleTimeString()),
      forMe ? h("span", { class: "badge" }, "mentions you") : null,
      h("div", {}, m.body));
  };
  // Marks the newest message read (once the page is looked at).
  let readUpTo = 0;
  const markRead = () => {
    if (!room || document.visibilityState !== "visible" || seen.size === 0) return;
    const newest = Math.max(...seen);
    if (newest <= readUpTo) return;
    if (sendLive({ type: "chat:read", room: room.room, messageId: newest })) readUpTo = newest;
  };
  document.addEventListener("visibilitychange", markRead);
  stops.push(() => document.removeEventListener("visibilitychange", markRead));
  const add = (m) => {
    if (seen.has(m.id)) return;
    seen.add(m.id);
    const later = [...log.children].find((li) => Number(li.dataset.id) > m.id);
    log.insertBefore(line(m), later ?? null);
  };
  // The people "@Name" names in `body` (longest names first, so "@Ann Lee" is not "@Ann").
  const mentionsIn = (body) => {
    let rest = body.toLowerCase();
    const ids = [];
    const byLength = [...names].sort(([, a], [, b]) => b.length - a.length);
    for (const [id, name] of byLength) {
      const tag = `@${name.toLowerCase()}`;
      if (id !== me && rest.includes(tag)) {
        ids.push(id);
        rest = rest.split(tag).join(" ");
      }
    }
    return ids;
  };

  async function open(target) {
    room = target;
    seen.clear();
    readUpTo = 0;
    log.replaceChildren();
    title.textContent = target.name ? `# ${target.name}` : "Whole church";
    for (const button of roomsNav.children) {
      button.setAttribute("aria-pressed", String(button.dataset.room === target.room));
    }
    if (target.kind === "channel") sendLive({ type: "chat:join", room: target.room });
    try {
      const page = await api("GET", `/api/chat/${encodeURIComponent(target.room)}/messages?limit=50`);
      page.messages.forEach(add);
      markRead();
    } catch (e) {
      error.textContent = e.message;
    }
  }

  const mentionHint = h("span", { class: "hint" }, "Type @ and a name to mention someone.");
  const form = h("form", { class: "row", onsubmit: (e) => {
    e.preventDefault();
    const body = text.value.trim();
    if (!body || !room) return;
    const sent = sendLive({ type: "chat:send", room: room.room, body,
      clientId: crypto.randomUUID(), mentions: mentionsIn(body) });
    if (!sent) {
      error.textContent = "Not connected: the message was not sent. Try again in a moment.";
      return;
    }
    error.textContent = "";
    text.value = "";
    sendLive({ type: "typing:stop", room: room.room });
    typingSince = 0;
  } }, ...field("Chat message", text, mentionHint), h("button", { type: "submit" }, "Send message"));
  text.addEventListener("input", () => {
    if (!room || !text.value) return;
    if (Date.now() - typingSince > TYPING_RENEW_MS) {
      typingSince = Date.now();
      sendLive({ type: "typing:start", room: room.room });
    }
  });

  stops.push(onLive("chat:message", (m) => {
    if (room && m.room === room.room) {
      add(m);
      markRead();
    }
  }));
  // A message the server refused (such as mentioning someone who cannot read the room).
  stops.push(onLive("error", (e) => {
    if (e.code === "invalid_mentions" || e.code === "invalid_body") error.textContent = e.message;
  }));
  stops.push(onLive("typing", (t) => {
    if (!room || t.room !== room.room) return;
    const others = t.userIds.filter((id) => id !== me).map(nameOf);
    typing.textContent = others.length
      ? `${others.join(", ")} ${others.length === 1 ? "is" : "are"} typing…` : "";
  }));
  const showOnline = async () => {
    try {
      const { online: ids } = await api("GET", "/api/presence");
      online.textContent = `Online: ${ids.map(nameOf).join(", ") || "nobody"}`;
    } catch (e) {
      error.textContent = e.message;
    }
  };
  stops.push(onLive("presence:changed", showOnline));

  main.replaceChildren(h("h1", {}, "Chat"), roomsNav,
    h("section", { class: "card" }, title, online, log, typing, form, error));

  Promise.all([api("GET", "/api/chat/people"), api("GET", "/api/chat/rooms")]).then(
    ([{ people }, { rooms }]) => {
      people.forEach((p) => names.set(p.id, p.name));
      roomsNav.replaceChildren(...rooms.map((r) => h("button", {
        type: "button", class: "plain", "data-room": r.room, "aria-pressed": "false",
        onclick: () => open(r),
      }, r.name ? `# ${r.name}` : "Whole church")));
      if (rooms.length) open(rooms[0]);
      showOnline();
    }, (e) => (error.textContent = e.message));
  return () => stops.forEach((stop) => stop());
}
