// Nodes (operators, on the Dashboard): every Belfry process sharing the database, with its
// last heartbeat, the sockets and rooms it held then, whether it reaches Redis, and whether it
// counts as alive. Refreshes with the rest of the dashboard.

import { api } from "/console/session.js";
import { h } from "/console/dom.js";

const since = (at) => {
  const secs = Math.max(0, Math.round((Date.now() - new Date(at).getTime()) / 1000));
  return secs < 120 ? `${secs} s ago` : new Date(at).toLocaleString();
};

export function nodesSection(every) {
  const tbody = h("tbody");
  const summary = h("p", {});
  const error = h("p", { class: "error", role: "alert" });
  every(() => api("GET", "/api/admin/nodes").then((view) => {
    const alive = view.nodes.filter((n) => n.alive).length;
    summary.textContent = `${alive} of ${view.nodes.length} alive; this page is served by ${view.thisNode}.`;
    tbody.replaceChildren(...view.nodes.map((n) => h("tr", {},
      h("td", {}, n.id), h("td", {}, n.alive ? "alive" : (n.stoppedAt ? "stopped" : "silent")),
      h("td", {}, since(n.heartbeatAt)), h("td", { class: "num" }, String(n.sockets)),
      h("td", { class: "num" }, String(n.rooms)), h("td", {}, n.redis), h("td", {}, n.version))));
  }, (e) => (error.textContent = e.message)));
  return h("section", { class: "card", "aria-labelledby": "nodes-h" },
    h("h2", { id: "nodes-h" }, "Nodes"),
    summary,
    h("table", { "aria-labelledby": "nodes-h" },
      h("thead", {}, h("tr", {}, ...["Node", "State", "Last beat", "Sockets", "Rooms", "Redis", "Version"]
        .map((t) => h("th", {}, t)))),
      tbody),
    error);
}
