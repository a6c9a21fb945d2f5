// Messages: compose a text (with its segment count), send it to all members, some, or groups, now or
// at a chosen time (cancellable until then), and watch each message's delivery live: a progress bar per message and, opened, each recipient's
// status. Counts come from the socket's events (each carries its message's totals after the
// change); after a reset the list is fetched again.

import { api, apiDocument, isAdmin } from "/console/session.js";
import { h, field, announce } from "/console/dom.js";
import { segmentsOf } from "/console/segments.js";
import { onLive, POLLED_HISTORY } from "/console/live.js";

const FINAL_FAILED = new Set(["delivery_failed", "sending_failed", "expired", "failed", "skipped"]);

export function renderMessages(main) {
  const stops = [];
  const rows = new Map();

  const text = h("textarea", { name: "body", required: true, maxlength: 1530 });
  const counter = h("p", { class: "hint", "aria-live": "polite" });
  const updateCounter = () => {
    const s = segmentsOf(text.value);
    counter.textContent = `${s.units} of ${s.perSegment} ${s.encoding} characters per segment · ` +
      `${s.segments} ${s.segments === 1 ? "segment" : "segments"}`;
  };
  text.addEventListener("input", updateCounter);
  updateCounter();
  // With merge fields, what one member would get (the server fills them in and counts).
  const preview = h("p", { class: "hint", id: "merge-preview", "aria-live": "polite" });
  let previewTimer = null;
  text.addEventListener("input", () => {
    clearTimeout(previewTimer);
    if (!/\{\{|\{%/.test(text.value)) {
      preview.textContent = "";
      return;
    }
    previewTimer = setTimeout(async () => {
      try {
        const p = await api("POST", "/api/messages/preview", { body: text.value });
        preview.textContent = `For one member: “${p.body}” · ${p.segments} ` +
          `${p.segments === 1 ? "segment" : "segments"} ${p.encoding}` +
          (p.tooLong ? " · too long: at most 10 segments" : "");
      } catch (e) {
        preview.textContent = e.message;
      }
    }, 300);
  });

  const all = h("input", { type: "radio", name: "audience", value: "all", checked: true, id: "aud-all" });
  const some = h("input", { type: "radio", name: "audience", value: "some", id: "aud-some" });
  const byGroup = h("input", { type: "radio", name: "audience", value: "groups", id: "aud-groups" });
  const picker = h("div", { class: "members-pick", hidden: true, role: "group", "aria-label": "Members" });
  const groupPicker = h("div", { class: "members-pick", hidden: true, role: "group", "aria-label": "Groups" });
  const toggle = () => {
    picker.hidden = !some.checked;
    groupPicker.hidden = !byGroup.checked;
    if (some.checked && !picker.childElementCount) loadMembers(picker);
    if (byGroup.checked && !groupPicker.childElementCount) loadGroups(groupPicker);
  };
  for (const radio of [all, some, byGroup]) radio.addEventListener("change", toggle);

  const sendAt = h("input", { type: "datetime-local", name: "sendAt" });
  // Admins may send during the church's quiet hours; everyone else's sends wait for their end.
  const urgent = h("input", { type: "checkbox", name: "urgent", id: "send-urgent" });
  const urgentField = isAdmin()
    ? [h("p", {}, urgent, h("label", { for: "send-urgent", class: "inline" },
        "Urgent: send even during quiet hours"))]
    : [];
  const error = h("p", { class: "error", role: "alert" });
  const send = h("button", { type: "submit" }, "Send");
  const form = h("form", { class: "card", onsubmit: async (e) => {
    e.preventDefault();
    error.textContent = "";
    const request = { body: text.value };
    const ticked = (container) =>
      [...container.querySelectorAll("input:checked")].map((c) => Number(c.value));
    if (all.checked) request.allMembers = true;
    else if (byGroup.checked) {
      request.groupIds = ticked(groupPicker);
      if (!request.groupIds.length) {
        error.textContent = "Choose at least one group, or send to all members.";
        return;
      }
    } else {
      request.memberIds = ticked(picker);
      if (!request.memberIds.length) {
        error.textContent = "Choose at least one member, or send to all members.";
        return;
      }
    }
    // The browser's local time, as the person picking it means it.
    if (sendAt.value) request.sendAt = new Date(sendAt.value).toISOString();
    if (urgent.checked) request.urgent = true;
    send.disabled = true;
    try {
      const accepted = await api("POST", "/api/messages", request);
      text.value = "";
      preview.textContent = "";
      sendAt.value = "";
      urgent.checked = false;
      updateCounter();
      const skipped = accepted.skipped?.length
        ? ` ${accepted.skipped.length} opted out, not sent to.` : "";
      announce((accepted.heldForQuietHours
        ? `Quiet hours: held until ${new Date(accepted.sendAt).toLocaleString()}, then sent to ${accepted.recipientCount} members.`
        : accepted.sendAt
        ? `Scheduled for ${new Date(accepted.sendAt).toLocaleString()} to ${accepted.recipientCount} members.`
        : `Sending to ${accepted.recipientCount} members.`) + skipped);
      if (!filtered()) {
        upsert({ ...accepted, body: request.body, deliveredCount: 0, failedCount: 0,
          createdAt: new Date().toISOString() }, true);
      }
    } catch (e) {
      error.textContent = e.message;
    } finally {
      send.disabled = false;
    }
  } },
    ...field("Message", text, counter),
    h("p", { class: "hint" }, "Merge fields: {{ firstName }}, {{ name }}, {{ church }}"),
    preview,
    h("fieldset", {},
      h("legend", {}, "Send to"),
      all, h("label", { for: "aud-all" }, "All members"),
      some, h("label", { for: "aud-some" }, "Some members"),
      byGroup, h("label", { for: "aud-groups" }, "Groups"),
      picker, groupPicker),
    ...field("Send at", sendAt, h("p", { class: "hint" }, "Leave empty to send now.")),
    ...urgentField,
    error,
    send,
  );

  const list = h("div", { id: "message-list" });
  // Filters: the statuses are the ones the API document lists for this route.
  const status = h("select", { name: "status" }, h("option", { value: "" }, "Any"));
  statusesFromDocument().then((names) =>
    status.append(...names.map((name) => h("option", { value: name }, label(name)))));
  const since = h("input", { type: "date", name: "since" });
  const older = h("button", { type: "button", class: "plain", hidden: true }, "Load older");
  let cursor = null;
  const filtered = () => Boolean(status.value || since.value);
  const query = () => {
    const params = new URLSearchParams({ limit: "20" });
    if (status.value) params.set("status", status.value);
    if (since.value) params.set("since", new Date(since.value).toISOString());
    if (cursor) params.set("cursor", cursor);
    return `/api/messages/history?${params}`;
  };
  const refilter = () => {
    cursor = null;
    rows.clear();
    list.replaceChildren();
    loadHistory();
  };
  status.addEventListener("change", refilter);
  since.addEventListener("change", refilter);
  older.addEventListener("click", () => loadHistory());
  const filters = h("div", { class: "row filters" },
    ...field("Status", status), ...field("Sent since", since));

  main.replaceChildren(h("h1", {}, "Messages"), form, h("h2", {}, "Sent"), filters, list, older);

  /** Adds or updates a message's row. */
  function upsert(message, first = false) {
    let row = rows.get(message.id);
    if (!row) {
      list.querySelector(":scope > p.hint")?.remove();
      row = messageRow(message);
      rows.set(message.id, row);
      if (first) list.prepend(row.element);
      else list.append(row.element);
    }
    row.update(message);
  }

  /** The next page of the list as filtered (the first when `cursor` is null). */
  async function loadHistory() {
    try {
      const page = await api("GET", cursor || filtered() ? query() : POLLED_HISTORY);
      for (const message of page.messages) upsert(message);
      cursor = page.nextCursor;
      older.hidden = !cursor;
      if (!rows.size) list.replaceChildren(h("p", { class: "hint" }, "No messages."));
    } catch (e) {
      list.replaceChildren(h("p", { class: "error", role: "alert" }, e.message));
    }
  }

  for (const type of ["message:status_update", "message:sent", "message:delivered", "message:failed"]) {
    stops.push(onLive(type, (event) => {
      const row = rows.get(event.messageId);
      if (!row) return;
      row.update({
        status: event.messageStatus,
        recipientCount: event.recipientCount,
        deliveredCount: event.deliveredCount,
        failedCount: event.failedCount,
      });
      row.recipient(event);
    }));
  }
  // Sent from another tab or by someone else.
  stops.push(onLive("message:created", (event) => {
    if (filtered() || rows.has(event.messageId)) return;
    upsert({ id: event.messageId, body: event.body, status: event.status, sendAt: event.sendAt,
      heldForQuietHours: event.heldForQuietHours,
      recipientCount: event.recipientCount, deliveredCount: 0, failedCount: 0,
      createdAt: new Date().toISOString() }, true);
  }));
  stops.push(onLive("message:cancelled", (event) => rows.get(event.messageId)?.update({ status: "cancelled" })));
  // No socket could be opened: the client polls the list instead.
  stops.push(onLive("poll", ({ path, body }) => {
    // Newest first: prepended oldest first, new ones end on top in order.
    if (path === POLLED_HISTORY && !filtered()) {
      [...body.messages].reverse().forEach((m) => upsert(m, true));
    }
  }));
  // The socket missed events it cannot replay: what the list shows may be behind.
  stops.push(onLive("reset", refilter));
  loadHistory();
  return () => stops.forEach((stop) => stop());
}

async function loadMembers(picker) {
  try {
    const { members } = await api("GET", "/api/members?fields=id,name,phone,optedOutAt");
    picker.replaceChildren(...members.map((m) => {
      const id = `member-${m.id}`;
      return h("label", { for: id },
        h("input", { type: "checkbox", id, value: m.id, disabled: Boolean(m.optedOutAt) }),
        ` ${m.name} (${m.phone})${m.optedOutAt ? " — opted out" : ""}`);
    }));
  } catch (e) {
    picker.replaceChildren(h("p", { class: "error", role: "alert" }, e.message));
  }
}

async function loadGroups(picker) {
  try {
    const { groups } = await api("GET", "/api/groups");
    picker.replaceChildren(...(groups.length ? groups.map((g) => {
      const id = `group-${g.id}`;
      return h("label", { for: id },
        h("input", { type: "checkbox", id, value: g.id }),
        ` ${g.name} (${g.memberCount} ${g.memberCount === 1 ? "member" : "members"})`);
    }) : [h("p", { class: "hint" }, "No groups yet: make them on the Groups page.")]));
  } catch (e) {
    picker.replaceChildren(h("p", { class: "error", role: "alert" }, e.message));
  }
}

/** One message: its text, a progress bar `N of M delivered`, and its recipients on demand. */
function messageRow(initial) {
  const state = { ...initial };
  const body = h("div", { class: "body" });
  const meta = h("div", { class: "meta" });
  const delivered = h("div", { class: "delivered" });
  const failed = h("div", { class: "failed" });
  const bar = h("div", { class: "bar", role: "progressbar", "aria-valuemin": 0 }, delivered, failed);
  const counts = h("div", { class: "counts" });
  const details = h("div", { hidden: true });
  const recipients = new Map();
  const open = h("button", { type: "button", class: "plain", "aria-expanded": "false" }, "Recipients");
  const cancel = h("button", { type: "button", class: "plain", hidden: true,
    "aria-label": `Cancel message ${initial.id}` }, "Cancel");
  const cancelError = h("p", { class: "error", role: "alert" });
  cancel.addEventListener("click", async () => {
    cancelError.textContent = "";
    try {
      const message = await api("DELETE", `/api/messages/${state.id}`);
      row.update({ status: message.status });
      announce("Cancelled: nothing will be sent.");
    } catch (e) {
      cancelError.textContent = e.message;
    }
  });
  open.addEventListener("click", async () => {
    const opening = details.hidden;
    details.hidden = !opening;
    open.setAttribute("aria-expanded", String(opening));
    if (opening && !recipients.size) {
      try {
        const detail = await api("GET", `/api/messages/${state.id}`);
        const tbody = h("tbody");
        for (const r of detail.recipients) {
          const status = h("td", { class: `st-${r.status}` }, label(r.status));
          const reason = h("td", {}, r.failureReason ?? "");
          recipients.set(r.id, { status, reason });
          tbody.append(h("tr", {}, h("td", {}, r.phone), status, reason));
        }
        details.replaceChildren(h("table", {},
          h("caption", { class: "hint" }, "Each recipient's status, live"),
          h("thead", {}, h("tr", {}, h("th", {}, "Phone"), h("th", {}, "Status"), h("th", {}, "Reason"))),
          tbody));
      } catch (e) {
        details.replaceChildren(h("p", { class: "error", role: "alert" }, e.message));
      }
    }
  });
  const element = h("article", { class: "card message", "aria-label": `Message ${initial.id}` },
    h("div", {}, body, meta), h("div", {}, bar, counts, open, cancel, cancelError),
    h("div", { class: "details" }, details));

  const row = {
    element,
    update(change) {
      Object.assign(state, change);
      const total = state.recipientCount ?? 0;
      const ok = state.deliveredCount ?? 0;
      const bad = state.failedCount ?? 0;
      body.textContent = state.body ?? "";
      meta.textContent = state.status === "scheduled" && state.sendAt
        ? `${state.heldForQuietHours ? "Held for quiet hours until" : "Scheduled for"} ` +
          new Date(state.sendAt).toLocaleString()
        : `${new Date(state.createdAt).toLocaleString()} · ${label(state.status)}`;
      cancel.hidden = state.status !== "scheduled";
      const text = `${ok} of ${total} delivered`;
      bar.setAttribute("aria-valuemax", total);
      bar.setAttribute("aria-valuenow", ok);
      bar.setAttribute("aria-valuetext", text);
      bar.setAttribute("aria-label", `Delivery of message ${state.id}`);
      delivered.style.width = total ? `${(100 * ok) / total}%` : "0";
      failed.style.width = total ? `${(100 * bad) / total}%` : "0";
      counts.textContent = `${text}${bad ? ` · ${bad} failed` : ""}`;
    },
    recipient(event) {
      const cells = recipients.get(event.recipientId);
      if (!cells) return;
      cells.status.textContent = label(event.status);
      cells.status.className = `st-${event.status}`;
      if (FINAL_FAILED.has(event.status)) cells.reason.textContent = event.failureReason ?? "";
    },
  };
  return row;
}

function label(status) {
  return (status ?? "").replaceAll("_", " ");
}

/** The message statuses the API document lists for the history's `status` filter. */
async function statusesFromDocument() {
  try {
    const document = await apiDocument();
    const parameters = document.paths["/api/messages/history"].get.parameters;
    return parameters.find((p) => p.name === "status")?.schema?.enum ?? [];
  } catch {
    return [];
  }
}
