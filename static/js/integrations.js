// Settings → Integrations: show the credential fields of the chosen Harvest version, and the
// "Use the sandbox" shortcut that fills the connect form. Loaded as a file (CSP: no inline JS).
(function () {
  "use strict";

  function syncVersionFields(form) {
    var checked = form.querySelector("input[name=api_version]:checked");
    if (!checked) return;
    form.querySelectorAll("[data-version]").forEach(function (group) {
      group.hidden = group.getAttribute("data-version") !== checked.value;
    });
  }

  function setField(form, name, value) {
    var inputs = form.querySelectorAll("[name='" + name + "']");
    inputs.forEach(function (input) {
      if (input.type === "radio" || input.type === "checkbox") {
        input.checked = input.value === value;
      } else {
        input.value = value;
      }
    });
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-fill-form]");
    if (!button) return;
    var form = document.getElementById(button.getAttribute("data-fill-form"));
    if (!form) return;
    var values = JSON.parse(button.getAttribute("data-fill") || "{}");
    Object.keys(values).forEach(function (name) {
      setField(form, name, values[name]);
    });
    syncVersionFields(form);
    button.textContent = "Sandbox values filled in";
  });

  document.addEventListener("change", function (event) {
    if (event.target.matches("input[name=api_version]")) syncVersionFields(event.target.form);
  });

  function init() {
    document.querySelectorAll("form").forEach(function (form) {
      if (form.querySelector("input[name=api_version]")) syncVersionFields(form);
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
