// Library → Video interview templates: the arrows move a question up or down and renumber the
// hidden order inputs and the arrows' names, so the saved order is the one on screen. Without script the order
// inputs keep the page's order and Remove/empty rows still work.
(function () {
  "use strict";
  function renumber(list) {
    var rows = list.querySelectorAll("[data-question-row]");
    rows.forEach(function (row, index) {
      var order = row.querySelector("[data-question-order]");
      if (order) order.value = String(index + 1);
      var number = row.querySelector("[data-question-number]");
      if (number) number.textContent = String(index + 1);
      // The arrows' names follow the question's new place ("Move question 1 up").
      row.querySelectorAll("[data-question-move]").forEach(function (arrow) {
        var way = arrow.getAttribute("data-question-move");
        arrow.setAttribute("aria-label", "Move question " + (index + 1) + " " + way);
      });
    });
  }
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-question-move]");
    if (!button) return;
    var row = button.closest("[data-question-row]");
    var list = button.closest("[data-question-list]");
    if (!row || !list) return;
    if (button.getAttribute("data-question-move") === "up") {
      var previous = row.previousElementSibling;
      if (previous) list.insertBefore(row, previous);
    } else {
      var next = row.nextElementSibling;
      if (next && !next.classList.contains("blank")) list.insertBefore(next, row);
    }
    renumber(list);
    button.focus();
  });
})();
