// Journey builder: filter boxes for the criteria checklists, the "chosen" counts, and showing
// only the fields of the chosen trigger and wait mode. Everything works without this file
// (all fields stay visible); loaded as a file because the CSP allows no inline script.
(function () {
  "use strict";

  function normalize(text) {
    return (text || "").toLowerCase().normalize("NFD").replace(/[\u0300-\u036f]/g, "").trim();
  }

  function filterPicker(input) {
    var picker = input.closest("[data-picker]");
    var query = normalize(input.value);
    var shown = 0;
    picker.querySelectorAll("[data-picker-option]").forEach(function (option) {
      var checked = option.querySelector("input").checked;
      var match = !query || normalize(option.textContent).indexOf(query) !== -1 || checked;
      option.hidden = !match;
      if (match) shown += 1;
    });
    picker.classList.toggle("no-matches", shown === 0);
  }

  function summarize(picker) {
    var summary = picker.querySelector("[data-picker-summary]");
    if (!summary) return;
    var chosen = Array.prototype.filter
      .call(picker.querySelectorAll("input[type=checkbox]"), function (box) { return box.checked; })
      .map(function (box) { return box.parentElement.textContent.trim(); });
    if (!chosen.length) summary.textContent = "Any";
    else if (chosen.length <= 3) summary.textContent = "Chosen: " + chosen.join(", ");
    else summary.textContent = chosen.length + " chosen";
  }

  function syncTrigger(form) {
    var checked = form.querySelector("input[name=trigger]:checked");
    form.querySelectorAll("[data-show-for-trigger]").forEach(function (group) {
      group.hidden = !checked || group.getAttribute("data-show-for-trigger") !== checked.value;
    });
  }

  function syncWait(form) {
    var checked = form.querySelector("input[name$=mode]:checked");
    if (!checked) return;
    form.querySelectorAll("[data-wait-mode]").forEach(function (group) {
      group.hidden = group.getAttribute("data-wait-mode") !== checked.value;
    });
  }

  function init(root) {
    root.querySelectorAll("[data-picker]").forEach(summarize);
    root.querySelectorAll("form").forEach(function (form) {
      if (form.querySelector("input[name=trigger]")) syncTrigger(form);
      if (form.querySelector("[data-wait-mode]")) syncWait(form);
    });
  }

  document.addEventListener("input", function (event) {
    if (event.target.matches("[data-picker-filter]")) filterPicker(event.target);
  });
  document.addEventListener("keydown", function (event) {
    // Enter in a filter box filters; it must not submit the whole trigger form.
    if (event.key === "Enter" && event.target.matches("[data-picker-filter]")) {
      event.preventDefault();
    }
  });
  document.addEventListener("change", function (event) {
    var target = event.target;
    var picker = target.closest("[data-picker]");
    if (picker) summarize(picker);
    if (target.matches("input[name=trigger]")) syncTrigger(target.form);
    if (target.matches("input[name$=mode]") && target.form) syncWait(target.form);
    if (target.matches("select") && target.id) {
      // The "Preview the template" link follows the template chosen in the picker.
      var link = document.querySelector("[data-template-select='" + target.id + "']");
      if (link && target.value) {
        link.href = link.getAttribute("data-template-preview").replace("/0/", "/" + target.value + "/");
      }
    }
  });
  document.addEventListener("htmx:afterSettle", function (event) {
    init(event.target);
  });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { init(document); });
  } else {
    init(document);
  }
})();
