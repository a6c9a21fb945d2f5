// Dashboard (admins and operators): the church's sending switch, the circuit breaker (set by
// operators only), throughput and rooms (activity.js), the live supervision tree, dead letters
// to retry or discard, who is using most of their rate limit, and the church's staff
// (staff.js); operators also see the nodes (nodes.js). The live parts refresh by themselves
// every few seconds; pauses by other admins
// arrive over the socket. Operators see every church at once or pick one: then the views
// that are a church's show that church's, and its sending switch and staff appear.

import { api, session } from "/console/session.js";
import { h, field, announce } from "/console/dom.js";
import { onLive } from "/console/live.js";
import { staffSection } from "/console/staff.js";
import { roomsSection, throughputSection } from "/console/activity.js";
import { nodesSection } from "/console/nodes.js";

const REFRESH_MS = 3000;

export function renderDashboard(main) {
  const operator = session().user.role === "operator";
  const body = h("div");
  let stops = [];
  const show = (churchId) => {
    stops.forEach((stop) => stop());
    stops = [];
    const query = churchId ? `?churchId=${churchId}` : "";
    /** Runs `load` now and every few seconds until the page or the church is left. */
    const every = (load) => {
      load();
      const timer = setInterval(load, REFRESH_MS);
      stops.push(() => clearInterval(timer));
    };
    const ofChurch = !operator || Boolean(churchId);
    const sections = [];
    if (ofChurch) sections.push(sendingSection(stops, query));
    sections.push(breakerSection(operator, every), throughputSection(every, query),
      treeSection(every, query), roomsSection(every, query), dlqSection(query), limitsSection(every));
    if (ofChurch) sections.push(staffSection(query));
    if (operator && !churchId) sections.push(nodesSection(every));
    body.replaceChildren(...sections);
  };
  main.replaceChildren(h("h1", {}, "Dashboard"), ...(operator ? [churchPicker(show)] : []), body);
  show(null);
  return () => stops.forEach((stop) => stop());
}

/** Operators: every church at once, or one of them. */
function churchPicker(show) {
  const select = h("select", {}, h("option", { value: "" }, "All churches"));
  const error = errorLine();
  api("GET", "/api/admin/churches").then(({ churches }) => {
    select.append(...churches.map((c) => h("option", { value: String(c.id) },
      `${c.name} (${c.members} members${c.sendingPaused ? ", paused" : ""})`)));
  }, (e) => (error.textContent = e.message));
  select.addEventListener("change", () => show(select.value || null));
  return h("div", { class: "card" }, ...field("Church", select), error);
}

function errorLine() {
  return h("p", { class: "error", role: "alert" });
}

function sendingSection(stops, query) {
  const toggle = h("button", { type: "button", role: "switch", "aria-checked": "false" }, "Pause sending");
  const reason = h("input", { type: "text", maxlength: 500 });
  const stateText = h("p", { "aria-live": "polite" });
  const error = errorLine();
  const show = (s) => {
    toggle.setAttribute("aria-checked", String(s.paused));
    stateText.textContent = s.paused
      ? `Sending is paused${s.reason ? `: ${s.reason}` : ""}. ${s.waiting} recipients are waiting.`
      : `Sending runs. ${s.waiting} recipients are waiting to be sent.`;
  };
  const load = () => api("GET", `/api/admin/sending${query}`).then(show, (e) => (error.textContent = e.message));
  toggle.addEventListener("click", async () => {
    const paused = toggle.getAttribute("aria-checked") !== "true";
    error.textContent = "";
    try {
      const body = { paused };
      if (paused && reason.value.trim()) body.reason = reason.value.trim();
      show(await api("POST", `/api/admin/sending${query}`, body));
      announce(paused ? "Sending paused." : "Sending resumed.");
    } catch (e) {
      error.textContent = e.message;
    }
  });
  stops.push(onLive("sending:paused", load), onLive("sending:resumed", load));
  load();
  return h("section", { class: "card", "aria-labelledby": "sending-h" },
    h("h2", { id: "sending-h" }, "Sending"),
    stateText,
    ...field("Reason for pausing", reason, h("p", { class: "hint" }, "Shown to the church's other admins.")),
    h("p", {}, toggle),
    error);
}

function breakerSection(operator, every) {
  const stateText = h("p", { "aria-live": "polite" });
  const details = h("p", { class: "hint" });
  const error = errorLine();
  const load = () => api("GET", "/api/admin/breaker").then((b) => {
    stateText.textContent = `The circuit breaker is ${b.state.replaceAll("_", " ")}.`;
    details.textContent = `${b.held} sends held, ${b.inFlight} in flight; ` +
      `${b.counts.failures ?? 0} failures, opened ${b.counts.timesOpened ?? 0} times.`;
  }, (e) => (error.textContent = e.message));
  every(load);
  const controls = operator
    ? h("div", { class: "row" }, ...[["forced_open", "Force breaker open"], ["closed", "Close breaker"],
      ["disabled", "Disable breaker"]].map(([state, name]) =>
      h("button", { type: "button", class: "plain", onclick: async () => {
        error.textContent = "";
        try {
          await api("POST", "/api/admin/breaker", { state });
          load();
        } catch (e) {
          error.textContent = e.message;
        }
      } }, name)))
    : h("p", { class: "hint" }, "Platform operators set the breaker; pause your church's sending above.");
  return h("section", { class: "card", "aria-labelledby": "breaker-h" },
    h("h2", { id: "breaker-h" }, "Circuit breaker"), stateText, details, controls, error);
}

function treeSection(every, query) {
  const tbody = h("tbody");
  const error = errorLine();
  const rows = (node, depth) => [
    h("tr", {},
      h("td", { class: `depth-${Math.min(depth, 6)}` }, node.name),
      h("td", {}, node.kind),
      h("td", {}, node.status),
      h("td", { class: "num" }, String(node.handled)),
      h("td", { class: "num" }, String(node.backlog)),
      h("td", { class: "num" }, String(node.restarts))),
    ...node.children.flatMap((child) => rows(child, depth + 1)),
  ];
  every(() => api("GET", `/api/admin/actors${query}`).then((tree) => {
    tbody.replaceChildren(...rows(tree, 0));
  }, (e) => (error.textContent = e.message)));
  return h("section", { class: "card", "aria-labelledby": "tree-h" },
    h("h2", { id: "tree-h" }, "Supervision tree"),
    h("table", { "aria-labelledby": "tree-h" },
      h("thead", {}, h("tr", {}, ...["Actor", "Kind", "Status", "Handled", "Backlog", "Restarts"]
        .map((t) => h("th", {}, t)))),
      tbody),
    error);
}

function dlqSection(query) {
  const list = h("tbody");
  const reason = h("input", { type: "search" });
  const summary = h("p", { "aria-live": "polite" });
  const error = errorLine();
  const filters = () => {
    const params = new URLSearchParams(query);
    params.set("limit", "50");
    if (reason.value.trim()) params.set("reason", reason.value.trim());
    return params;
  };
  const act = async (method, path, body, said) => {
    error.textContent = "";
    try {
      await api(method, path, body);
      announce(said);
      load();
    } catch (e) {
      error.textContent = e.message;
    }
  };
  const load = () => api("GET", `/api/admin/dlq?${filters()}`).then((page) => {
    summary.textContent = `${page.total} open dead ${page.total === 1 ? "letter" : "letters"}.`;
    list.replaceChildren(...page.items.map((d) => h("tr", {},
      h("td", {}, d.phone),
      h("td", {}, `message ${d.messageId}`),
      h("td", {}, d.reason),
      h("td", {}, new Date(d.createdAt).toLocaleString()),
      h("td", { class: "row" },
        h("button", { type: "button", class: "plain", "aria-label": `Retry dead letter ${d.id}`,
          onclick: () => act("POST", `/api/admin/dlq/${d.id}/retry${query}`, undefined, "Put back to send.") }, "Retry"),
        h("button", { type: "button", class: "plain", "aria-label": `Discard dead letter ${d.id}`,
          onclick: () => act("DELETE", `/api/admin/dlq/${d.id}${query}`, { note: "discarded from the dashboard" },
            "Discarded.") }, "Discard")))));
  }, (e) => (error.textContent = e.message));
  reason.addEventListener("input", load);
  load();
  return h("section", { class: "card", "aria-labelledby": "dlq-h" },
    h("h2", { id: "dlq-h" }, "Dead letters"),
    ...field("Filter by reason", reason),
    summary,
    h("table", { "aria-labelledby": "dlq-h" },
      h("thead", {}, h("tr", {}, ...["Phone", "Message", "Reason", "Given up", "Actions"]
        .map((t) => h("th", {}, t)))),
      list),
    h("p", {}, h("button", { type: "button", onclick: () =>
      act("POST", `/api/admin/dlq/retry${query}`, reason.value.trim() ? { reason: reason.value.trim() } : {},
        "Matching dead letters put back to send.") }, "Retry all shown")),
    error);
}

function limitsSection(every) {
  const tbody = h("tbody");
  const denials = h("p", {});
  const error = errorLine();
  every(() => api("GET", "/api/admin/limits").then((view) => {
    const refused = Object.entries(view.denialsLastHour);
    denials.textContent = refused.length
      ? `Refused in the last hour: ${refused.map(([p, n]) => `${p} ${n}`).join(", ")}.`
      : "Nobody was refused in the last hour.";
    tbody.replaceChildren(...view.topConsumers.map((u) => h("tr", {},
      h("td", {}, `user ${u.userId}`), h("td", {}, u.policy),
      h("td", { class: "num" }, `${u.used} of ${u.burst}`))));
  }, (e) => (error.textContent = e.message)));
  return h("section", { class: "card", "aria-labelledby": "limits-h" },
    h("h2", { id: "limits-h" }, "Rate limits"),
    denials,
    h("table", { "aria-labelledby": "limits-h" },
      h("thead", {}, h("tr", {}, h("th", {}, "User"), h("th", {}, "Policy"), h("th", {}, "Burst in use"))),
      tbody),
    error);
}
