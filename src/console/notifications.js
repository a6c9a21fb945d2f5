// Notifications: the signed-in user's inbox (newest first, unread or all or archived, searched
// by words), each one read, unread or archived here, and every one read at once; it follows
// the socket, so what another tab changes shows here too. Opening it marks the badge seen.
// Below, the user's preferences; admins and operators also get the form that sends one to
// people, the stats of what became of notifications, and the sandbox's kept email.

import { api, isAdmin, session } from "/console/session.js";
import { h, field, announce } from "/console/dom.js";
import { onLive } from "/console/live.js";
import { setUnread } from "/console/notification_badge.js";
import { preferencesCard } from "/console/notification_preferences.js";
import { sandboxMailCard } from "/console/sandbox_mail.js";
import { statsCard } from "/console/notification_stats.js";
import { templatesCard, templateNames, readVars } from "/console/notification_templates.js";

const CATEGORY = {
  announcement: "Announcement", delivery: "Delivery", chat: "Chat", system: "System",
  security: "Security",
};

const when = (at) => new Date(at).toLocaleString();

export function renderNotifications(main) {
  const shown = h("select", { name: "status" },
    h("option", { value: "all" }, "Inbox"), h("option", { value: "unread" }, "Unread"),
    h("option", { value: "archived" }, "Archived"));
  const search = h("input", { type: "search", name: "q", maxlength: 200 });
  const error = h("p", { class: "error", role: "alert" });
  const list = h("ul", { class: "inbox", "aria-labelledby": "inbox-h" });
  const empty = h("p", { class: "hint" });
  const more = h("button", { type: "button", class: "plain", hidden: true }, "Load more");
  let cursor = null;

  function item(n) {
    const read = n.readAt !== null;
    const mark = (path, done) => async () => {
      try {
        await api("POST", `/api/notifications/${n.id}/${path}`);
        announce(done);
        load();
      } catch (e) {
        error.textContent = e.message;
      }
    };
    return h("li", { class: read ? "note read" : "note unread" },
      h("h3", {}, n.title),
      h("p", { class: "meta" },
        `${CATEGORY[n.category] ?? n.category} · ${n.priority} · ${when(n.createdAt)}`,
        read ? "" : " · unread"),
      h("p", { class: "body" }, n.body),
      n.archivedAt ? null : h("div", { class: "row" },
        read
          ? h("button", { type: "button", class: "plain", "aria-label": `Mark “${n.title}” unread`,
            onclick: mark("unread", "Marked unread") }, "Mark unread")
          : h("button", { type: "button", class: "plain", "aria-label": `Mark “${n.title}” read`,
            onclick: mark("read", "Marked read") }, "Mark read"),
        h("button", { type: "button", class: "plain", "aria-label": `Archive “${n.title}”`,
          onclick: mark("archive", "Archived") }, "Archive")));
  }

  async function load(append = false) {
    const query = new URLSearchParams({ status: shown.value, limit: "20" });
    if (search.value.trim()) query.set("q", search.value.trim());
    if (append && cursor) query.set("before", cursor);
    try {
      const page = await api("GET", `/api/notifications?${query}`);
      const items = page.notifications.map(item);
      if (append) list.append(...items);
      else list.replaceChildren(...items);
      cursor = page.nextCursor;
      more.hidden = cursor === null;
      empty.textContent = list.children.length ? "" : "No notifications here.";
      error.textContent = "";
    } catch (e) {
      error.textContent = e.message;
    }
  }
  more.addEventListener("click", () => load(true));
  shown.addEventListener("change", () => load());

  const readAll = h("button", { type: "button", onclick: async () => {
    try {
      const done = await api("POST", "/api/notifications/read-all", {});
      setUnread(done.counts.unread);
      announce("Every notification is read");
      load();
    } catch (e) {
      error.textContent = e.message;
    }
  } }, "Mark all read");

  main.replaceChildren(
    h("h1", {}, "Notifications"),
    h("form", { class: "card row filters", role: "search",
      onsubmit: (e) => { e.preventDefault(); load(); } },
      h("div", {}, ...field("Show", shown)),
      h("div", {}, ...field("Search notifications", search)),
      h("button", { type: "submit" }, "Search"),
      readAll),
    error,
    h("section", { class: "card", "aria-labelledby": "inbox-h" },
      h("h2", { id: "inbox-h" }, "Inbox"), empty, list, more),
    preferencesCard(),
    ...(isAdmin() ? adminCards() : []),
    isAdmin() ? statsCard() : null,
    isAdmin() ? sandboxMailCard() : null);

  // Whatever changes, in this tab or another, the list is read again.
  const stops = ["notification:new", "notification:updated"].map((type) => onLive(type, () => load()));
  load();
  api("POST", "/api/notifications/seen").then((done) => setUnread(done.counts.unread), () => {});
  return () => stops.forEach((stop) => stop());
}

/** The send form, and the templates it may use (kept in step). */
function adminCards() {
  const send = sendForm();
  return [send.form, templatesCard(send.refreshTemplates)];
}

/** Admins tell their church (everyone, or its staff or admins); operators tell a church; in
 * their own words, or with a template. */
function sendForm() {
  const operator = session()?.user.role === "operator";
  const to = operator
    ? h("select", { name: "church" }, h("option", { value: "" }, "Choose a church"))
    : h("select", { name: "audience" },
      h("option", { value: "church" }, "Everyone in the church"),
      h("option", { value: "staff" }, "Staff"), h("option", { value: "admin" }, "Admins"));
  const priority = h("select", { name: "priority" },
    ...["low", "normal", "high", "critical"].map((p) =>
      h("option", { value: p, selected: p === "normal" }, p)));
  const title = h("input", { type: "text", name: "title", maxlength: 200 });
  const body = h("textarea", { name: "body", maxlength: 4000 });
  const template = h("select", { name: "use-template" }, h("option", { value: "" }, "None: write it here"));
  const vars = h("textarea", { name: "vars", placeholder: "{\"day\": \"Sunday\"}" });
  const refreshTemplates = () => templateNames().then((names) => {
    const was = template.value;
    template.replaceChildren(h("option", { value: "" }, "None: write it here"),
      ...names.map((n) => h("option", { value: n }, n)));
    template.value = names.includes(was) ? was : "";
  }, () => {});
  refreshTemplates();
  const error = h("p", { class: "error", role: "alert" });
  // The last send's progress, as the socket tells it (`notification:bulk_progress`).
  const bar = h("progress", { "aria-label": "Send progress", max: 1, value: 0, hidden: true });
  const progressText = h("p", { class: "hint", role: "status" });
  const showProgress = (p) => {
    bar.hidden = false;
    bar.max = Math.max(p.recipientCount, 1);
    bar.value = p.announced;
    progressText.textContent = `${p.done ? "Sent" : "Sending"}: ${p.announced} of ${p.recipientCount} have it`;
  };
  if (operator) {
    api("GET", "/api/admin/churches").then(({ churches }) => {
      to.append(...churches.map((c) => h("option", { value: String(c.id) }, c.name)));
    }, (e) => (error.textContent = e.message));
  }
  const audience = () => {
    if (operator) return { churchIds: [Number(to.value)] };
    return to.value === "church" ? { church: true } : { role: to.value };
  };
  const form = h("form", { class: "card", "aria-labelledby": "send-h", onsubmit: async (e) => {
    e.preventDefault();
    if (operator && !to.value) {
      error.textContent = "Choose a church.";
      return;
    }
    // Listening starts before the request: the first progress may come before its answer.
    const seen = new Map();
    let sentId = null;
    const stop = onLive("notification:bulk_progress", (p) => {
      if (!form.isConnected) return stop();
      if (sentId === null) return seen.set(p.id, p);
      if (p.id !== sentId) return;
      showProgress(p);
      if (p.done) stop();
    });
    try {
      const said = template.value
        ? { template: template.value, vars: readVars(vars.value) }
        : { title: title.value, body: body.value };
      const sent = await api("POST", "/api/admin/notifications", {
        audience: audience(), priority: priority.value, ...said,
      });
      sentId = sent.id;
      showProgress(seen.get(sent.id) ?? { recipientCount: sent.recipientCount, announced: 0, done: false });
      if (seen.get(sent.id)?.done) stop();
      announce(`Sent to ${sent.recipientCount} ${sent.recipientCount === 1 ? "person" : "people"}`);
      title.value = "";
      body.value = "";
      error.textContent = "";
    } catch (e) {
      stop();
      error.textContent = e.message;
    }
  } },
    h("h2", { id: "send-h" }, "Send a notification"),
    ...field("To", to),
    ...field("Priority", priority),
    ...field("Use template", template),
    ...field("Template variables (JSON)", vars),
    ...field("Title", title),
    ...field("Notification text", body),
    error,
    h("button", { type: "submit" }, "Send notification"),
    bar, progressText);
  return { form, refreshTemplates };
}
