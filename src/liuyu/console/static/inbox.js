// Live inbox: listen to the conversation stream and swap in the fresh list and messages.
// The server renders everything; this only re-fetches the current page and replaces parts of it,
// so the agent's half-written reply (outside the swapped parts) is never lost.
(function () {
  "use strict";
  var parts = ["#inbox-list", "#messages", "#conversation-status", "#customer-card"];
  var state = document.getElementById("live-state");
  var busy = false;
  var again = false;

  function refresh() {
    if (busy) { again = true; return; }
    busy = true;
    fetch(window.location.href, { credentials: "same-origin" })
      .then(function (response) { return response.text(); })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html");
        parts.forEach(function (selector) {
          var now = document.querySelector(selector);
          var next = fresh.querySelector(selector);
          if (now && next) { now.innerHTML = next.innerHTML; }
        });
      })
      .catch(function () { /* the next change will try again */ })
      .then(function () {
        busy = false;
        if (again) { again = false; refresh(); }
      });
  }

  if (!window.EventSource) { return; }
  var source = new EventSource("/api/v1/conversations/stream");
  source.addEventListener("open", function () { if (state) { state.dataset.live = "on"; } });
  source.addEventListener("error", function () { if (state) { state.dataset.live = "off"; } });
  source.addEventListener("changed", refresh);
})();
