// Journeys: the flow view's counts and report, and the list's worker backlog, kept current by
// polling the JSON API every few seconds (no reload). A failed poll keeps the last figures.
(function () {
  "use strict";
  var EVERY_MS = 3000;

  function set(el, value) {
    if (el && el.textContent !== String(value)) { el.textContent = String(value); }
  }
  function byId(id) { return document.getElementById(id); }
  function pct(x) { return x === null || x === undefined ? "–" : (x * 100).toFixed(1) + "%"; }
  function points(x) {
    if (x === null || x === undefined) { return "–"; }
    var v = (x * 100).toFixed(1);
    return (x >= 0 ? "+" : "") + v;
  }
  function poll(url, apply) {
    function tick() {
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (body) { if (body) { apply(body); } })
        .catch(function () { /* the next tick tries again */ })
        .then(function () { setTimeout(tick, EVERY_MS); });
    }
    setTimeout(tick, EVERY_MS);
  }

  var flow = byId("flow");
  if (flow) {
    var labels = JSON.parse(flow.dataset.reasons || "{}");
    var card = byId("report");
    poll("/api/v1/journeys/" + flow.dataset.journey + "/report", function (report) {
      var t = report.groups.treatment || { entered: 0, converted: 0 };
      var c = report.groups.control || { entered: 0, converted: 0 };
      set(byId("entered"), t.entered + c.entered);
      set(byId("entered-treatment"), t.entered);
      set(byId("entered-control"), c.entered);
      set(byId("converted"), t.converted + c.converted);
      report.steps.forEach(function (step) {
        var node = flow.querySelector('[data-step="' + CSS.escape(step.key) + '"]');
        if (!node) { return; }
        var o = step.outcomes;
        var counts = { now: step.now, waiting: o.waiting || 0, yes: o.yes || 0, no: o.no || 0,
          passed: (o.sent || 0) + (o.done || 0), skipped: o.skipped || 0, failed: o.failed || 0 };
        Object.keys(counts).forEach(function (name) {
          set(node.querySelector('[data-count="' + name + '"]'), counts[name]);
        });
        var list = node.querySelector(".reasons");
        var text = Object.keys(step.reasons || {}).map(function (why) {
          return (labels[why] || why) + ": " + step.reasons[why];
        });
        if (list && list.dataset.shown !== text.join("\n")) {
          list.dataset.shown = text.join("\n");
          list.textContent = "";
          text.forEach(function (line) {
            var li = document.createElement("li");
            li.textContent = line;
            list.appendChild(li);
          });
        }
      });
      var u = report.uplift;
      set(byId("treatment-rate"), pct(u.treatment_rate));
      set(byId("control-rate"), pct(u.control_rate));
      set(byId("treatment-converted"), u.treatment_converted);
      set(byId("treatment-size"), u.treatment);
      set(byId("control-converted"), u.control_converted);
      set(byId("control-size"), u.control);
      set(byId("uplift"), points(u.uplift));
      set(byId("interval"), u.low === null ? "–" : "[" + points(u.low) + ", " + points(u.high) + "]");
      var verdict = byId("verdict");
      verdict.dataset.significant = u.significant ? "yes" : "no";
      set(verdict, u.uplift === null ? card.dataset.empty
        : u.significant ? (u.uplift > 0 ? card.dataset.up : card.dataset.down) : card.dataset.unsure);
      set(byId("refreshed"), new Date().toLocaleTimeString());
    });
  }

  var worker = byId("worker");
  if (worker) {
    poll("/api/v1/journeys/queue", function (queue) {
      set(byId("queue-due"), queue.due);
      set(byId("queue-lag"), Math.round(queue.lag_seconds));
    });
  }
})();
