// Church quiet hours (admins, on the Settings page): the church's time zone, and the nightly
// stretch when members are not texted. The server decides what is quiet; this form shows its
// answer, including the stretch running now or next.

import { api, session } from "/console/session.js";
import { h, field, announce } from "/console/dom.js";

/** The card, or nothing for someone who does not run a church. */
export function quietHoursCard() {
  if (session()?.user.role !== "admin") return null;
  const zones = h("datalist", { id: "time-zones" },
    ...(Intl.supportedValuesOf?.("timeZone") ?? []).map((zone) => h("option", { value: zone })));
  const zone = h("input", { type: "text", name: "timezone", list: "time-zones", required: true,
    maxlength: 64, autocomplete: "off" });
  const enabled = h("input", { type: "checkbox", name: "quietEnabled", id: "quiet-enabled" });
  const start = h("input", { type: "time", name: "quietStart", required: true });
  const end = h("input", { type: "time", name: "quietEnd", required: true });
  const stretch = h("p", { class: "hint", id: "quiet-window", "aria-live": "polite" });
  const error = h("p", { class: "error", role: "alert" });

  const show = (church) => {
    zone.value = church.timezone;
    enabled.checked = church.quietHours.enabled;
    start.value = church.quietHours.start;
    end.value = church.quietHours.end;
    const w = church.quietWindow;
    const at = (t) => new Date(t).toLocaleString();
    stretch.textContent = !w ? "Quiet hours are off: texts go whenever they are sent."
      : w.now ? `Quiet now, until ${at(w.until)}. Only urgent messages go.`
      : `Next quiet hours: ${at(w.from)} to ${at(w.until)}.`;
  };
  api("GET", "/api/admin/church").then(show, (e) => (error.textContent = e.message));

  return h("form", { class: "card", onsubmit: async (e) => {
    e.preventDefault();
    error.textContent = "";
    try {
      show(await api("PATCH", "/api/admin/church", {
        timezone: zone.value.trim(),
        quietHours: { enabled: enabled.checked, start: start.value, end: end.value },
      }));
      announce("Quiet hours are saved.");
    } catch (e) {
      error.textContent = e.message;
    }
  } },
    h("h2", {}, "Quiet hours"),
    h("p", { class: "hint" }, "Members are not texted in these hours, in the church's time zone: " +
      "a send is held until they end, unless an admin marks it urgent. 21:00 to 08:00 is " +
      "recommended, as US telemarketing rules require."),
    ...field("Time zone", zone),
    zones,
    h("p", {}, enabled, h("label", { for: "quiet-enabled", class: "inline" }, "Quiet hours on")),
    ...field("Quiet from", start),
    ...field("Quiet until", end),
    stretch,
    error,
    h("button", { type: "submit" }, "Save quiet hours"));
}
