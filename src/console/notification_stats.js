// Notification stats: what became of the notifications made lately (admins: their church's
// people's; operators: everyone's): per channel how many deliveries are in each state, how many
// were read and how fast, how many emails stood in for the app, how many digests went.

import { api } from "/console/session.js";
import { h, field } from "/console/dom.js";

const CHANNELS = [["in_app", "In the app"], ["email", "Email"], ["sms", "SMS"]];
const STATES = [["pending", "Waiting"], ["held", "Held"], ["sent", "Sent"],
  ["delivered", "Delivered"], ["read", "Read"], ["failed", "Failed"], ["skipped", "Skipped"]];
const PERIODS = [["1", "Last 24 hours"], ["7", "Last 7 days"], ["30", "Last 30 days"]];

function duration(seconds) {
  if (seconds == null) return "none read yet";
  if (seconds < 90) return `${Math.round(seconds)} s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

export function statsCard() {
  const period = h("select", { name: "period" },
    ...PERIODS.map(([days, name]) => h("option", { value: days, selected: days === "7" }, name)));
  const summary = h("p", { id: "stats-summary" });
  const error = h("p", { class: "error", role: "alert" });
  const body = h("tbody", {});
  async function load() {
    const until = new Date();
    const since = new Date(until.getTime() - Number(period.value) * 86400000);
    const query = new URLSearchParams({ since: since.toISOString(), until: until.toISOString() });
    try {
      const s = await api("GET", `/api/admin/notifications/stats?${query}`);
      error.textContent = "";
      const rate = s.readRate == null ? "none" : `${Math.round(s.readRate * 100)}%`;
      summary.textContent = `${s.notifications} notifications, ${rate} read, median time to read `
        + `${duration(s.medianSecondsToRead)}; ${s.emailFallbacks} emailed because unseen, `
        + `${s.digestsSent} digests sent.`;
      body.replaceChildren(...CHANNELS.map(([key, name]) => h("tr", {},
        h("th", { scope: "row" }, name),
        ...STATES.map(([state]) => h("td", { class: "num" }, String(s.channels[key][state]))))));
    } catch (e) {
      error.textContent = e.message;
    }
  }
  period.addEventListener("change", load);
  load();
  return h("section", { class: "card", "aria-labelledby": "stats-h" },
    h("h2", { id: "stats-h" }, "Notification stats"),
    ...field("Period", period), summary, error,
    h("table", { "aria-labelledby": "stats-h" },
      h("thead", {}, h("tr", {}, h("th", {}, "Channel"), ...STATES.map(([, name]) => h("th", {}, name)))),
      body),
    h("button", { type: "button", class: "plain", onclick: load }, "Refresh stats"));
}
