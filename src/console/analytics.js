// Analytics: how the church's sending went, per day or week of its own calendar. A bar chart
// of delivered and failed recipients (its figures also in words and in a table, for screen
// readers), the period's totals, and its failures ranked by carrier code. Operators, who
// belong to no church, choose one first.

import { api, session } from "/console/session.js";
import { h, field } from "/console/dom.js";

const SVG = "http://www.w3.org/2000/svg";
const WIDTH = 600;
const HEIGHT = 160;

function svg(tag, attrs = {}, ...children) {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) element.setAttribute(name, String(value));
  element.append(...children);
  return element;
}

const percent = (rate) => (rate === null ? "—" : `${(rate * 100).toFixed(1)} %`);
const FIGURES = [
  ["recipients", "Recipients"], ["sent", "Sent"], ["delivered", "Delivered"],
  ["failed", "Failed"], ["deliveryRate", "Delivery rate"], ["replies", "Replies"],
  ["optOuts", "Opt-outs"],
];
const shown = (figures, key) => (key === "deliveryRate" ? percent(figures[key]) : String(figures[key]));

export function renderAnalytics(main) {
  const operator = session()?.user.role === "operator";
  const church = h("select", { name: "church" }, h("option", { value: "" }, "Choose a church"));
  const interval = h("select", { name: "interval" },
    h("option", { value: "day" }, "Day"), h("option", { value: "week" }, "Week"));
  const since = h("input", { type: "date", name: "since" });
  const until = h("input", { type: "date", name: "until" });
  const error = h("p", { class: "error", role: "alert" });
  const totals = h("dl", { class: "totals", "aria-labelledby": "totals-h" });
  const caption = h("figcaption", { id: "delivery-caption" }, "Loading…");
  const chart = svg("svg", { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: "img",
    "aria-labelledby": "delivery-h delivery-caption", class: "chart" });
  const rows = h("tbody");
  const reasons = h("tbody");
  const noFailures = h("p", { class: "hint" });

  async function load() {
    const query = new URLSearchParams({ interval: interval.value });
    if (operator) {
      if (!church.value) {
        caption.textContent = "Choose a church to see its figures.";
        return;
      }
      query.set("churchId", church.value);
    }
    if (since.value) query.set("since", since.value);
    if (until.value) query.set("until", until.value);
    try {
      draw(await api("GET", `/api/analytics/delivery?${query}`));
      error.textContent = "";
    } catch (e) {
      error.textContent = e.message;
    }
  }

  function draw(report) {
    since.value = report.since;
    until.value = report.until;
    const unit = report.interval === "week" ? "week" : "day";
    totals.replaceChildren(...FIGURES.flatMap(([key, name]) =>
      [h("dt", {}, name), h("dd", {}, shown(report.totals, key))]));
    const slots = report.intervals;
    const top = Math.max(1, ...slots.map((s) => s.delivered + s.failed));
    const step = WIDTH / slots.length;
    const barHeight = (n) => (n / top) * (HEIGHT - 24);
    chart.replaceChildren(
      svg("line", { x1: 0, y1: HEIGHT - 4, x2: WIDTH, y2: HEIGHT - 4, class: "axis" }),
      svg("text", { x: 4, y: 14, class: "scale" }, `${top} recipients`),
      ...slots.flatMap((s, i) => {
        const delivered = barHeight(s.delivered);
        const failed = barHeight(s.failed);
        const x = (i * step + step * 0.1).toFixed(1);
        const width = Math.max(1, step * 0.8).toFixed(1);
        return [
          svg("rect", { class: "bar-delivered", x, width, y: (HEIGHT - 4 - delivered).toFixed(1),
            height: delivered.toFixed(1) }),
          svg("rect", { class: "bar-failed", x, width,
            y: (HEIGHT - 4 - delivered - failed).toFixed(1), height: failed.toFixed(1) }),
        ];
      }));
    const busy = slots.filter((s) => s.recipients > 0 || s.replies > 0 || s.optOuts > 0);
    caption.textContent = report.totals.recipients === 0
      ? `Nothing went out from ${report.since} to ${report.until}.`
      : `From ${report.since} to ${report.until} (${report.timezone}), by ${unit}: ` +
        `${report.totals.delivered} of ${report.totals.recipients} delivered, ` +
        `${report.totals.failed} failed; the busiest ${unit} had ${top} finished.`;
    rows.replaceChildren(...busy.map((s) => h("tr", {},
      h("td", {}, s.start),
      ...FIGURES.map(([key]) => h("td", { class: "num" }, shown(s, key))))));
    reasons.replaceChildren(...report.failureReasons.map((r) => h("tr", {},
      h("td", {}, r.code), h("td", { class: "num" }, String(r.count)), h("td", {}, r.example))));
    noFailures.textContent = report.failureReasons.length ? "" : "No failures in this period.";
  }

  main.replaceChildren(
    h("h1", {}, "Analytics"),
    h("form", { class: "card row filters", onsubmit: (e) => { e.preventDefault(); load(); } },
      operator ? h("div", {}, ...field("Church", church)) : null,
      h("div", {}, ...field("Interval", interval)),
      h("div", {}, ...field("From", since)),
      h("div", {}, ...field("To", until)),
      h("button", { type: "submit" }, "Show")),
    error,
    h("section", { class: "card", "aria-labelledby": "totals-h" },
      h("h2", { id: "totals-h" }, "Totals"), totals),
    h("section", { class: "card", "aria-labelledby": "delivery-h" },
      h("h2", { id: "delivery-h" }, "Delivery"),
      h("figure", {}, chart, h("ul", { class: "legend" },
        h("li", { class: "series-1" }, "delivered"), h("li", { class: "bad" }, "failed")), caption),
      h("table", { "aria-labelledby": "delivery-h" },
        h("thead", {}, h("tr", {}, h("th", {}, "From"), ...FIGURES.map(([, name]) => h("th", {}, name)))),
        rows)),
    h("section", { class: "card", "aria-labelledby": "reasons-h" },
      h("h2", { id: "reasons-h" }, "Failure reasons"),
      noFailures,
      h("table", { "aria-labelledby": "reasons-h" },
        h("thead", {}, h("tr", {}, ...["Code", "Count", "Example"].map((t) => h("th", {}, t)))),
        reasons)));
  if (operator) {
    api("GET", "/api/admin/churches").then(({ churches }) => {
      church.append(...churches.map((c) => h("option", { value: String(c.id) }, c.name)));
    }, (e) => (error.textContent = e.message));
    church.addEventListener("change", () => {
      since.value = "";
      until.value = "";
      load();
    });
  }
  interval.addEventListener("change", () => {
    // A new interval starts from the default period for it.
    since.value = "";
    load();
  });
  load();
}
