// Conversations: every phone that texted the church, most recent first with unread counts,
// and one conversation's thread (what the church sent, with delivery status; what the phone
// sent back; opt-outs) with a box to reply. New texts and replies arrive over the socket;
// opening a conversation marks it read for everyone.

import { api, isAdmin } from "/console/session.js";
import { h, field, announce } from "/console/dom.js";
import { onLive } from "/console/live.js";

export function renderConversations(main) {
  const stops = [];
  const list = h("ul", { class: "conversations", "aria-label": "Conversations" });
  const summary = h("p", { "aria-live": "polite" });
  const unreadOnly = h("input", { type: "checkbox" });
  const title = h("h2", { id: "thread-h" }, "Choose a conversation");
  const thread = h("ol", { class: "chat-log", "aria-labelledby": "thread-h", "aria-live": "polite" });
  const reply = h("textarea", { rows: 2, maxlength: 1530 });
  const error = h("p", { class: "error", role: "alert" });
  const addMember = h("p", {});
  let open = null;
  const shown = new Set();
  /** Messages the open thread shows a status of. */
  const messages = new Set();

  const who = (c) => c.memberName ? `${c.memberName} (${c.phone})` : c.phone;
  const status = (line) => line.status ? ` · ${line.status.replaceAll("_", " ")}` : "";
  const lineItem = (line) => h("li", { class: `line ${line.direction}`, "data-id": line.id },
    h("span", { class: "hint" }, `${{ inbound: "They wrote", outbound: "You sent", system: "Note" }[line.direction]}` +
      ` · ${new Date(line.at).toLocaleString()}${status(line)}`),
    h("div", {}, line.body));
  const addLine = (line) => {
    if (shown.has(line.id)) return;
    shown.add(line.id);
    if (line.messageId) messages.add(line.messageId);
    const later = [...thread.children].find((li) => Number(li.dataset.id) > line.id);
    thread.insertBefore(lineItem(line), later ?? null);
  };

  const loadList = async () => {
    try {
      const page = await api("GET", `/api/conversations?limit=100${unreadOnly.checked ? "&unread=true" : ""}`);
      summary.textContent = page.unreadTotal
        ? `${page.unreadTotal} unread ${page.unreadTotal === 1 ? "text" : "texts"}.`
        : "Everything is read.";
      list.replaceChildren(...page.conversations.map((c) => h("li", {},
        h("button", { type: "button", class: "plain",
          "aria-current": open?.id === c.id ? "true" : false,
          "aria-label": `${who(c)}${c.unread ? `, ${c.unread} unread` : ""}`,
          onclick: () => show(c) },
          h("strong", {}, who(c)), c.unread ? h("span", { class: "badge", "aria-hidden": "true" }, String(c.unread)) : null,
          h("div", { class: "hint" }, c.lastMessage.body)))));
      if (!page.conversations.length) list.replaceChildren(h("li", { class: "hint" }, "No texts yet."));
      return page.conversations;
    } catch (e) {
      error.textContent = e.message;
      return [];
    }
  };

  async function show(conversation) {
    open = conversation;
    shown.clear();
    messages.clear();
    thread.replaceChildren();
    error.textContent = "";
    title.textContent = `Conversation with ${who(conversation)}`;
    addMember.replaceChildren(...(conversation.memberId === null ? [
      "Not a member yet. ",
      h("button", { type: "button", class: "plain", onclick: () => addAsMember(conversation) },
        "Add as member"),
    ] : []));
    try {
      const page = await api("GET", `/api/conversations/${conversation.id}/messages?limit=100`);
      page.messages.forEach(addLine);
      if (conversation.unread) await api("POST", `/api/conversations/${conversation.id}/read`, {});
    } catch (e) {
      error.textContent = e.message;
    }
    loadList();
  }

  async function addAsMember(conversation) {
    const name = prompt(`Name of ${conversation.phone}`);
    if (!name?.trim()) return;
    try {
      await api("POST", "/api/members", { name: name.trim(), phone: conversation.phone });
      announce(`${name.trim()} added as a member.`);
      const found = (await loadList()).find((c) => c.id === conversation.id);
      if (found) show(found);
    } catch (e) {
      error.textContent = e.message;
    }
  }

  // In the church's quiet hours a reply waits for their end, unless an admin marks it urgent.
  const urgent = h("input", { type: "checkbox", id: "reply-urgent" });
  const urgentField = isAdmin()
    ? [h("p", {}, urgent, h("label", { for: "reply-urgent", class: "inline" },
        "Urgent: send even during quiet hours"))]
    : [];
  const form = h("form", { onsubmit: async (e) => {
    e.preventDefault();
    const body = reply.value.trim();
    if (!open || !body) return;
    error.textContent = "";
    try {
      const request = { body };
      if (urgent.checked) request.urgent = true;
      const sent = await api("POST", `/api/conversations/${open.id}/messages`, request);
      reply.value = "";
      urgent.checked = false;
      announce(sent.heldForQuietHours
        ? `Quiet hours: the reply waits until ${new Date(sent.sendAt).toLocaleString()}.`
        : "Reply sent.");
    } catch (err) {
      error.textContent = err.message;
    }
  } }, ...field("Reply", reply), ...urgentField,
    h("p", {}, h("button", { type: "submit" }, "Send reply")));

  stops.push(onLive("conversation:message", (event) => {
    if (open?.id === event.conversationId) {
      addLine(event.message);
      // Seen as it arrives: the page is showing it.
      if (event.direction === "inbound") {
        api("POST", `/api/conversations/${event.conversationId}/read`, {}).catch(() => {});
      }
    }
    loadList();
  }));
  stops.push(onLive("conversation:read", loadList));
  // Delivery statuses of what was sent move on: redraw the open thread's lines.
  for (const type of ["message:sent", "message:delivered", "message:failed"]) {
    stops.push(onLive(type, (event) => messages.has(event.messageId) && refreshStatuses()));
  }
  async function refreshStatuses() {
    try {
      const page = await api("GET", `/api/conversations/${open.id}/messages?limit=100`);
      shown.clear();
      messages.clear();
      thread.replaceChildren();
      page.messages.forEach(addLine);
    } catch {
      // The next event tries again.
    }
  }
  unreadOnly.addEventListener("change", loadList);

  main.replaceChildren(h("h1", {}, "Conversations"),
    h("div", { class: "split" },
      h("section", { class: "card", "aria-label": "All conversations" }, summary,
        h("p", {}, h("label", {}, unreadOnly, " Unread only")), list),
      h("section", { class: "card", "aria-labelledby": "thread-h" }, title, addMember, thread, form, error)));
  loadList();
  return () => stops.forEach((stop) => stop());
}
