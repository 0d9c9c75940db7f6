// The segment builder: count and preview follow the expression as the operator types.
// Debounced so a fast typist sends one request per pause, and stale answers are dropped.
(function () {
  "use strict";
  var box = document.getElementById("expression");
  var builder = document.getElementById("builder");
  if (!box || !builder) { return; }
  var countEl = document.getElementById("count");
  var errorEl = document.getElementById("error");
  var rowsEl = document.querySelector("#preview tbody");
  var WAIT_MS = 300;
  var timer = null;
  var latest = 0;

  function cell(text) {
    var td = document.createElement("td");
    td.textContent = text === null || text === undefined || text === "" ? "-" : String(text);
    return td;
  }

  function showRows(rows) {
    rowsEl.textContent = "";
    rows.forEach(function (row) {
      var tr = document.createElement("tr");
      var id = document.createElement("td");
      var link = document.createElement("a");
      link.href = "/console/customers/" + row.id;
      link.textContent = row.id;
      id.appendChild(link);
      tr.appendChild(id);
      tr.appendChild(cell(row.name));
      tr.appendChild(cell(row.city));
      tr.appendChild(cell(row.order_count));
      tr.appendChild(cell("¥" + row.total_spent));
      rowsEl.appendChild(tr);
    });
  }

  function showError(body) {
    var text = body && body.detail ? body.detail : builder.dataset.failed;
    if (body && body.pointer) { text = body.pointer + "\n" + text; }
    errorEl.textContent = text;
    errorEl.hidden = false;
    countEl.textContent = "–";
    rowsEl.textContent = "";
    if (body && body.position) {
      box.setCustomValidity(text);
    }
  }

  function update() {
    var expression = box.value.trim();
    var asked = ++latest;
    if (!expression) {
      errorEl.hidden = true;
      countEl.textContent = "–";
      rowsEl.textContent = "";
      box.setCustomValidity("");
      return;
    }
    countEl.textContent = builder.dataset.checking;
    fetch("/api/v1/segments/preview", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ expression: expression, limit: 10 })
    }).then(function (response) {
      return response.json().then(function (body) { return { ok: response.ok, body: body }; });
    }).then(function (answer) {
      if (asked !== latest) { return; }  // a newer keystroke has its own request
      if (!answer.ok) { showError(answer.body); return; }
      errorEl.hidden = true;
      box.setCustomValidity("");
      countEl.textContent = answer.body.count.toLocaleString();
      showRows(answer.body.rows);
    }).catch(function () {
      if (asked === latest) { showError(null); }
    });
  }

  box.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(update, WAIT_MS);
  });
  if (box.value.trim()) { update(); }
})();
