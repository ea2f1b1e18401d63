// Candidate filters: choosing a job reloads the list with that job's stages (and forgets a
// stage the new job may not have). Bulk actions: the page's tick boxes, "select all matching
// this filter", and the fields of the chosen action. Loaded as a file: the CSP allows no
// inline script.
(function () {
  "use strict";
  document.addEventListener("change", function (event) {
    if (!event.target.matches("[data-job-filter]")) return;
    var form = event.target.form;
    var stage = form.querySelector("select[name=stage]");
    if (stage) stage.value = "";
    form.submit();
  });

  var bulk = document.querySelector("[data-bulk-form]");
  if (!bulk) return;
  var total = Number(bulk.dataset.total || 0);
  var all = bulk.querySelector("[data-bulk-all]");
  var kind = bulk.querySelector("[data-bulk-kind]");
  var count = bulk.querySelector("[data-bulk-count]");
  var pageBox = document.querySelector("[data-bulk-page]");

  function rows() {
    return Array.prototype.slice.call(document.querySelectorAll("input[data-bulk-row]"));
  }

  function refresh() {
    var everyone = all && all.checked;
    var ticked = rows().filter(function (box) { return box.checked; }).length;
    rows().forEach(function (box) { box.disabled = everyone; });
    if (pageBox) {
      pageBox.disabled = everyone;
      pageBox.checked = ticked > 0 && ticked === rows().length;
    }
    if (everyone) {
      count.textContent = "All " + total + " candidate" + (total === 1 ? "" : "s") + " matching this filter selected";
    } else if (ticked) {
      count.textContent = ticked + " selected on this page";
    } else {
      count.textContent = "Tick candidates below to act on several at once";
    }
  }

  function showFields() {
    var chosen = kind.value;
    bulk.querySelectorAll("[data-bulk-for]").forEach(function (field) {
      var mine = field.dataset.bulkFor === chosen;
      field.hidden = !mine;
      field.querySelectorAll("select, input").forEach(function (input) { input.disabled = !mine; });
    });
  }

  if (pageBox) {
    pageBox.hidden = false;
    pageBox.addEventListener("change", function () {
      rows().forEach(function (box) { box.checked = pageBox.checked; });
      refresh();
    });
  }
  document.addEventListener("change", function (event) {
    if (event.target.matches("input[data-bulk-row], [data-bulk-all]")) refresh();
  });
  kind.addEventListener("change", showFields);
  showFields();
  refresh();
})();
