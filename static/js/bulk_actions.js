// Bulk actions: the confirm button sends once; the action's page follows its progress from the
// small JSON endpoint and shows the summary once done. Loaded as a file (the CSP allows no
// inline script); without script the page has a Refresh link.
(function () {
  "use strict";
  var POLL_MS = 1000;

  document.addEventListener("submit", function (event) {
    var button = event.target.querySelector("[data-bulk-confirm]");
    if (!button) return;
    if (button.dataset.sent) {
      event.preventDefault();
      return;
    }
    button.dataset.sent = "1";
    button.textContent = "Starting…";
  });

  var card = document.querySelector("[data-bulk-progress]");
  if (!card || card.dataset.finished === "1") return;
  var url = card.dataset.bulkProgress;

  function show(name, value) {
    var node = card.querySelector("[data-bulk-" + name + "]");
    if (node) node.textContent = String(value);
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) throw new Error("status " + response.status);
        return response.json();
      })
      .then(function (state) {
        show("processed", state.processed);
        show("total", state.total);
        show("done", state.done);
        show("skipped", state.skipped);
        show("failed", state.failed);
        show("state", state.finished ? "Done" : state.status === "running" ? "Running" : "Waiting to start");
        var bar = card.querySelector("[data-bulk-bar]");
        if (bar) {
          bar.max = state.total || 1;
          bar.value = state.processed;
        }
        if (state.finished) {
          window.location.reload(); // the summary, with its links, is drawn by the server
          return;
        }
        window.setTimeout(poll, POLL_MS);
      })
      .catch(function () {
        show("state", "Lost contact with the server; retrying…");
        window.setTimeout(poll, POLL_MS * 5);
      });
  }
  window.setTimeout(poll, POLL_MS);
})();
