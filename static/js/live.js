// Live regions: an element with data-live-url is fetched again every data-live-seconds (default
// 5) while the tab is visible, and replaced by the answer (which is the same element, freshly
// rendered). Polling pauses while the tab is hidden and catches up as soon as it is shown again.
// An element with data-live-keep-open keeps its open <details> open across refreshes.
(function () {
  "use strict";

  var timers = new WeakMap();

  function openKeys(element) {
    var keys = [];
    element.querySelectorAll("details[open][data-live-key]").forEach(function (details) {
      keys.push(details.getAttribute("data-live-key"));
    });
    return keys;
  }

  function refresh(element) {
    if (document.visibilityState !== "visible" || !element.isConnected) return;
    if (element.contains(document.activeElement) && document.activeElement !== document.body &&
        document.activeElement.matches("input, select, textarea")) {
      return; // never swap a form out from under someone typing in it
    }
    var url = element.getAttribute("data-live-url");
    fetch(url, { headers: { "X-Requested-With": "fetch" }, credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) throw new Error(response.status);
        return response.text();
      })
      .then(function (html) {
        if (!element.isConnected) return;
        var template = document.createElement("template");
        template.innerHTML = html.trim();
        var fresh = template.content.querySelector("[data-live-url]");
        if (!fresh) return;
        var open = openKeys(element);
        open.forEach(function (key) {
          var details = fresh.querySelector("details[data-live-key='" + key + "']");
          if (details) details.open = true;
        });
        if (fresh.innerHTML === element.innerHTML) return;
        element.replaceWith(fresh);
        if (window.htmx) window.htmx.process(fresh);
        start(fresh);
      })
      .catch(function () {
        // A failed refresh keeps what is shown; the next tick tries again.
      });
  }

  function start(element) {
    var seconds = parseFloat(element.getAttribute("data-live-seconds")) || 5;
    var timer = window.setInterval(function () {
      if (!element.isConnected) {
        window.clearInterval(timer);
        return;
      }
      refresh(element);
    }, seconds * 1000);
    timers.set(element, timer);
  }

  function init() {
    document.querySelectorAll("[data-live-url]").forEach(function (element) {
      if (!timers.has(element)) start(element);
    });
  }

  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") {
      document.querySelectorAll("[data-live-url]").forEach(refresh);
    }
  });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
