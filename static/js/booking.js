// The candidate's booking pages. Loaded as a file: the CSP allows no inline script.
(function () {
  "use strict";

  function browserZone() {
    try {
      return Intl.DateTimeFormat().resolvedOptions().timeZone || "";
    } catch (error) {
      return "";
    }
  }

  var zone = browserZone();

  // First visit to a picker: show the times in the browser's zone (the server reads ?tz=).
  if (zone && document.body.hasAttribute("data-detect-tz")) {
    var url = new URL(window.location.href);
    if (!url.searchParams.has("tz")) {
      url.searchParams.set("tz", zone);
      window.location.replace(url.toString());
      return;
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    // The public link form sends the zone so the picker opens in it.
    document.querySelectorAll("input[data-browser-tz]").forEach(function (input) {
      if (!input.value && zone) input.value = zone;
    });
    // The zone select submits itself; its button is only for browsers without script.
    document.querySelectorAll("[data-hide-with-js]").forEach(function (element) {
      element.hidden = true;
    });
  });

  document.addEventListener("change", function (event) {
    if (event.target.matches("[data-autosubmit]")) event.target.form.submit();
  });

  // One booking per tap: a second submit while the first is on its way is ignored.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.hasAttribute("data-once")) return;
    if (form.classList.contains("is-submitting")) {
      event.preventDefault();
      return;
    }
    form.classList.add("is-submitting");
  });

  // Coming back with the browser's Back button: the forms may be used again.
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("form.is-submitting").forEach(function (form) {
      form.classList.remove("is-submitting");
    });
  });
})();
