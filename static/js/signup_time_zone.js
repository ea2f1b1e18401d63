// Sign-up: the new organization starts in the browser's time zone (an IANA name such as
// Europe/Berlin). The server checks the name and falls back to UTC when it does not know it.
(function () {
  "use strict";
  function fill() {
    var zone = "";
    try {
      zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "";
    } catch (e) {
      zone = "";
    }
    document.querySelectorAll("input[data-browser-zone]").forEach(function (input) {
      if (!input.value) input.value = zone;
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", fill);
  } else {
    fill();
  }
})();
