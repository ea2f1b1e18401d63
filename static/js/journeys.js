// Journey builder: filter boxes for the criteria checklists, the "chosen" counts, showing only
// the fields of the chosen trigger and wait mode, a click on a step card opens its settings,
// and steps reorder by dragging their handle with a mouse, a finger or a pen (Pointer Events;
// saved to the server; the ↑ ↓ buttons do the same from the keyboard and without this file). Everything works without this file (all fields stay
// visible); loaded as a file because the CSP allows no inline script.
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
  // --- A click on a step card opens its settings ------------------------------------------
  document.addEventListener("click", function (event) {
    var body = event.target.closest(".step[data-reorderable] .step-body");
    if (!body || event.target.closest("a, button, input, select, textarea, label, form")) return;
    var edit = body.querySelector("[data-step-edit]");
    if (edit) edit.click();
  });

  // --- Reordering steps by dragging their handle (Pointer Events: mouse, touch and pen) --------
  var drag = null; // {item, pointerId, target, before}

  function clearMarks(list) {
    list.querySelectorAll(".drop-before, .drop-after").forEach(function (item) {
      item.classList.remove("drop-before", "drop-after");
    });
  }

  function csrfToken() {
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function showOrderError(text) {
    var box = document.getElementById("steps-order-error");
    if (box) { box.textContent = text; box.hidden = false; }
  }

  function swapIn(html) {
    // The answer is the steps card plus the version header and draft label (out of band).
    var template = document.createElement("template");
    template.innerHTML = html.trim();
    Array.prototype.slice.call(template.content.children).forEach(function (fresh) {
      var current = fresh.id && document.getElementById(fresh.id);
      if (!current) return;
      fresh.removeAttribute("hx-swap-oob");
      current.replaceWith(fresh);
      if (window.htmx) window.htmx.process(fresh);
      init(fresh);
    });
  }

  function saveOrder(list, before) {
    var ids = Array.prototype.map.call(list.querySelectorAll(":scope > li[data-step-id]"), function (item) {
      return item.getAttribute("data-step-id");
    });
    var body = new URLSearchParams();
    body.set("order", ids.join(","));
    fetch(list.getAttribute("data-reorder-url"), {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken(), "X-Requested-With": "fetch" },
      body: body,
    }).then(function (response) {
      return response.text().then(function (html) { swapIn(html); });
    }).catch(function () {
      before.forEach(function (item) { list.appendChild(item); });
      showOrderError("The new order couldn't be saved (no connection?). It is back as it was; try again.");
    });
  }

  function dropPlace(list, item, clientY) {
    // The step under the pointer and whether the dragged one goes before or after it.
    var found = null;
    Array.prototype.forEach.call(list.querySelectorAll(":scope > li[data-step-id]"), function (other) {
      if (other === item) return;
      var box = other.getBoundingClientRect();
      if (clientY >= box.top && clientY <= box.bottom) {
        found = { item: other, before: clientY < box.top + box.height / 2 };
      }
    });
    return found;
  }

  function endDrag(drop) {
    if (!drag) return;
    var current = drag;
    drag = null;
    var list = current.item.parentElement;
    current.item.classList.remove("dragging");
    if (!list) return;
    clearMarks(list);
    if (!drop || !current.target) return;
    var place = current.target;
    list.insertBefore(current.item, place.before ? place.item : place.item.nextSibling);
    var moved = Array.prototype.some.call(list.children, function (child, index) {
      return child !== current.before[index];
    });
    if (moved) saveOrder(list, current.before);
  }

  document.addEventListener("pointerdown", function (event) {
    var handle = event.target.closest && event.target.closest(".drag-handle");
    var item = handle && handle.closest("#step-list > li[data-reorderable]");
    if (!item || drag || (event.pointerType === "mouse" && event.button !== 0)) return;
    event.preventDefault(); // no text selection, no native drag
    drag = {
      item: item,
      pointerId: event.pointerId,
      target: null,
      before: Array.prototype.slice.call(item.parentElement.children),
    };
    try {
      handle.setPointerCapture(event.pointerId);
    } catch (error) {
      // A pointer the browser no longer tracks: the document listeners still follow it.
    }
    item.classList.add("dragging");
  });
  document.addEventListener("pointermove", function (event) {
    if (!drag || event.pointerId !== drag.pointerId) return;
    event.preventDefault();
    var list = drag.item.parentElement;
    clearMarks(list);
    drag.target = dropPlace(list, drag.item, event.clientY);
    if (drag.target) drag.target.item.classList.add(drag.target.before ? "drop-before" : "drop-after");
  });
  document.addEventListener("pointerup", function (event) {
    if (drag && event.pointerId === drag.pointerId) endDrag(true);
  });
  document.addEventListener("pointercancel", function (event) {
    if (drag && event.pointerId === drag.pointerId) endDrag(false);
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && drag) endDrag(false);
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
