// Small behaviours of the app shell. Loaded as a file: the CSP allows no inline script.
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var toggle = event.target.closest("[data-menu-toggle]");
    document.querySelectorAll(".menu.open").forEach(function (menu) {
      if (!toggle || menu !== toggle.parentElement) menu.classList.remove("open");
    });
    if (toggle) toggle.parentElement.classList.toggle("open");

    var copy = event.target.closest("[data-copy]");
    if (copy) {
      var target = document.getElementById(copy.getAttribute("data-copy"));
      if (target && navigator.clipboard) {
        navigator.clipboard.writeText(target.textContent.trim()).then(function () {
          copy.textContent = "Copied";
        });
      }
    }
    var confirmEl = event.target.closest("[data-confirm]");
    if (confirmEl && !window.confirm(confirmEl.getAttribute("data-confirm"))) {
      event.preventDefault();
    }
  });
  // Organization switcher: submit on change.
  document.addEventListener("change", function (event) {
    if (event.target.matches("[data-autosubmit]")) event.target.form.submit();
  });
})();
