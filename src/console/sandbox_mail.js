// Sandbox mail: with no SMTP server configured, the emails Belfry would have sent (unread
// notifications, digests) are kept by the server instead; admins see their church's here,
// operators everyone's. Each opens to show its text.

import { api } from "/console/session.js";
import { h } from "/console/dom.js";

export function sandboxMailCard() {
  const list = h("ul", { class: "mail", "aria-labelledby": "mail-h" });
  const hint = h("p", { class: "hint" });
  const error = h("p", { class: "error", role: "alert" });
  async function load() {
    try {
      const kept = await api("GET", "/api/admin/mail?limit=20");
      error.textContent = "";
      hint.textContent = !kept.sandbox
        ? "Email goes to the mail server: none is kept here."
        : kept.mail.length === 0 ? "No email yet: unread notifications are emailed after a while."
          : "The latest emails, newest first.";
      list.replaceChildren(...kept.mail.map((m) => h("li", {},
        h("details", {},
          h("summary", {}, h("strong", {}, m.subject), ` to ${m.to}, ${new Date(m.sentAt).toLocaleString()}`),
          h("pre", { class: "body" }, m.text)))));
    } catch (e) {
      error.textContent = e.message;
    }
  }
  load();
  return h("section", { class: "card", "aria-labelledby": "mail-h" },
    h("h2", { id: "mail-h" }, "Sandbox mail"), hint, error, list,
    h("button", { type: "button", class: "plain", onclick: load }, "Refresh mail"));
}
