// The live word check: as the agent types a reply, listed words (forbidden, sensitive, promises)
// from the workspace's word library are named under the reply box before anything is sent.
(function () {
  const box = document.querySelector("#reply-form textarea");
  const warning = document.getElementById("word-warning");
  if (!box || !warning) return;
  let timer = null;
  let asked = 0;

  async function check() {
    const ticket = ++asked;
    const text = box.value;
    if (!text.trim()) { warning.hidden = true; return; }
    try {
      const response = await fetch("/api/v1/service/words/check", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        credentials: "same-origin",
        body: JSON.stringify({ text: text }),
      });
      if (!response.ok || ticket !== asked) return;
      const hits = (await response.json()).hits;
      if (!hits.length) { warning.hidden = true; return; }
      const kinds = {};
      for (const hit of hits) (kinds[hit.kind] = kinds[hit.kind] || []).push(hit.word);
      warning.textContent = Object.entries(kinds)
        .map(([kind, words]) => (warning.dataset[kind] || kind) + ": " + words.join("、"))
        .join("；");
      warning.dataset.kind = kinds.forbidden ? "forbidden" : Object.keys(kinds)[0];
      warning.hidden = false;
    } catch (error) {
      warning.hidden = true; // the check is a help, never a blocker
    }
  }

  box.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(check, 250);
  });
})();
