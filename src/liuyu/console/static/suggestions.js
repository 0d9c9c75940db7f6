// Answer suggestions for the customer's latest message: insert one into the reply box with a click,
// mark it helpful or not, and flag a wrong bot answer. Everything comes from the JSON API
// (/api/v1/conversations/{id}/suggestions) with the console session; text is set with
// textContent, never as HTML.
(function () {
  "use strict";
  var panel = document.getElementById("suggestions");
  if (!panel) { return; }
  var id = panel.dataset.conversation;
  var list = document.getElementById("suggestion-list");
  var bot = document.getElementById("bot-turns");
  var label = function (name) { return panel.dataset["label" + name.charAt(0).toUpperCase() + name.slice(1)] || name; };
  var current = null;

  function post(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body || {}),
    });
  }

  function feedback(item, action, button) {
    return post("/api/v1/conversations/" + id + "/suggestions/feedback", {
      message_id: current.message.id, source: item.source, source_id: item.source_id, action: action,
    }).then(function (response) {
      if (response.ok && button) { button.disabled = true; button.dataset.recorded = "yes"; }
    });
  }

  function element(tag, text, className) {
    var node = document.createElement(tag);
    if (text) { node.textContent = text; }
    if (className) { node.className = className; }
    return node;
  }

  function source(item) {
    if (item.source === "faq") { return label("faq") + " #" + item.source_id + "（" + item.question + "）"; }
    return "《" + item.title + "》" + (item.heading ? " " + item.heading : "");
  }

  function renderSuggestions(data) {
    list.textContent = "";
    if (!data.suggestions.length) {
      list.appendChild(element("p", label("none"), "muted gap"));
      return;
    }
    data.suggestions.forEach(function (item) {
      var box = element("div", "", "suggestion");
      box.dataset.source = item.source;
      box.dataset.sourceId = item.source_id;
      box.style.borderTop = "1px solid #eee";
      box.style.padding = "6px 0";
      box.appendChild(element("div", item.text, "suggestion-text"));
      box.appendChild(element("div", source(item) + " · " + label("confidence") + " " + item.confidence.toFixed(2), "muted suggestion-source"));
      var insert = element("button", label("insert"), "insert");
      insert.type = "button";
      insert.addEventListener("click", function () {
        var reply = document.querySelector("#reply-form textarea");
        reply.value = reply.value.trim() ? reply.value.replace(/\s+$/, "") + "\n" + item.text : item.text;
        reply.dispatchEvent(new Event("input", { bubbles: true }));
        reply.focus();
        feedback(item, "inserted");
      });
      var helpful = element("button", label("helpful"), "link helpful");
      helpful.type = "button";
      helpful.addEventListener("click", function () { feedback(item, "helpful", helpful); });
      var unhelpful = element("button", label("unhelpful"), "link unhelpful");
      unhelpful.type = "button";
      unhelpful.addEventListener("click", function () { feedback(item, "unhelpful", unhelpful); });
      box.appendChild(insert);
      box.appendChild(document.createTextNode(" "));
      box.appendChild(helpful);
      box.appendChild(document.createTextNode(" "));
      box.appendChild(unhelpful);
      list.appendChild(box);
    });
  }

  function renderBot(turns) {
    bot.textContent = "";
    turns.forEach(function (turn) {
      var line = element("p", "", "bot-turn");
      line.dataset.action = turn.action;
      if (turn.action === "handoff") {
        line.textContent = label("handoff") + "：" + label(turn.reason);
      } else {
        line.textContent = label("botAnswer") + " · " + label("confidence") + " " + turn.confidence.toFixed(2) + " ";
        if (turn.flagged) {
          line.appendChild(element("span", label("flagged"), "tag masked flagged"));
        } else {
          var flag = element("button", label("flag"), "link flag");
          flag.type = "button";
          flag.addEventListener("click", function () {
            post("/api/v1/conversations/" + id + "/bot-answers/" + turn.reply_id + "/flag", {}).then(load);
          });
          line.appendChild(flag);
        }
      }
      bot.appendChild(line);
    });
  }

  function load() {
    return fetch("/api/v1/conversations/" + id + "/suggestions", { credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        if (!data) { return; }
        current = data;
        panel.dataset.message = data.message ? data.message.id : "";
        renderBot(data.bot);
        renderSuggestions(data);
        panel.dataset.loaded = "yes";
      })
      .catch(function () { /* suggestions are a help, not a requirement */ });
  }

  // The live inbox swaps in new messages; a new customer message deserves new suggestions.
  var messages = document.getElementById("messages");
  var timer = null;
  if (messages && window.MutationObserver) {
    new MutationObserver(function () {
      clearTimeout(timer);
      timer = setTimeout(load, 300);
    }).observe(messages, { childList: true, subtree: true });
  }
  load();
})();
