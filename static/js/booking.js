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

  // "12" where the browser's locale reads a 12-hour clock (hourCycle h11/h12), else "24".
  function browserClock() {
    try {
      var options = new Intl.DateTimeFormat(undefined, { hour: "numeric" }).resolvedOptions();
      if (options.hourCycle) return options.hourCycle === "h11" || options.hourCycle === "h12" ? "12" : "24";
      if (typeof options.hour12 === "boolean") return options.hour12 ? "12" : "24";
    } catch (error) {
      // An old browser: the server's clock (the organization's) stays.
    }
    return "";
  }

  var zone = browserZone();
  var clock = browserClock();

  // First visit: show the times in the browser's zone and on its clock (the server reads
  // ?tz= and ?clock=). The server marks the pages that may ask (never the answer to a POST).
  var url = new URL(window.location.href);
  var changed = false;
  if (zone && document.body.hasAttribute("data-detect-tz") && !url.searchParams.has("tz")) {
    url.searchParams.set("tz", zone);
    changed = true;
  }
  if (clock && document.body.hasAttribute("data-detect-clock") && !url.searchParams.has("clock")) {
    url.searchParams.set("clock", clock);
    changed = true;
  }
  if (changed) {
    window.location.replace(url.toString());
    return;
  }

  function remember(name, value) {
    // The address keeps the choice, so a reload or a shared link opens the same step.
    var here = new URL(window.location.href);
    ["day", "start", "month"].forEach(function (key) {
      if (key !== name) here.searchParams.delete(key);
    });
    if (value) here.searchParams.set(name, value);
    else here.searchParams.delete(name);
    window.history.replaceState(null, "", here.toString());
  }

  // The zone list: the zone this device reports comes first (also under an obsolete name the
  // list knows as data-also, such as Asia/Calcutta for Asia/Kolkata).
  function detectedFirst(select) {
    if (!zone) return;
    var found = null;
    Array.prototype.forEach.call(select.options, function (option) {
      var also = (option.getAttribute("data-also") || "").split(" ");
      if (!found && (option.value === zone || also.indexOf(zone) !== -1)) found = option;
    });
    if (!found) return;
    var group = document.createElement("optgroup");
    group.label = "Detected on this device";
    var selected = found.selected;
    group.appendChild(found);
    select.insertBefore(group, select.firstChild);
    if (selected) found.selected = true;
  }

  function showDay(key) {
    var times = document.getElementById("booking-times");
    if (!times) return;
    var shown = null;
    times.querySelectorAll(".booking-day").forEach(function (section) {
      section.hidden = section.getAttribute("data-day") !== key;
      if (!section.hidden) shown = section;
    });
    var prompt = times.querySelector(".booking-times-prompt");
    if (prompt) prompt.hidden = Boolean(shown);
    document.querySelectorAll("#booking-calendar .booking-date.available").forEach(function (button) {
      var chosen = button.value === key;
      button.classList.toggle("chosen", chosen);
      button.setAttribute("aria-pressed", chosen ? "true" : "false");
    });
    if (shown) shown.scrollIntoView({ block: "nearest" });
  }

  function showMonth(key) {
    document.querySelectorAll("#booking-calendar .booking-month").forEach(function (month) {
      month.hidden = month.getAttribute("data-month") !== key;
    });
  }

  function confirmTime(button) {
    var confirm = document.getElementById("booking-confirm");
    var picker = document.getElementById("booking-picker");
    if (!confirm || !picker) return false;
    confirm.querySelector("[data-confirm=day]").textContent = button.getAttribute("data-day");
    confirm.querySelector("[data-confirm=time]").textContent = button.getAttribute("data-time");
    confirm.querySelector("input[data-confirm=start]").value = button.value;
    var back = confirm.querySelector("[data-confirm-back]");
    var section = button.closest(".booking-day");
    if (back && section) {
      var link = new URL(back.href, window.location.href);
      link.searchParams.set("day", section.getAttribute("data-day"));
      back.href = link.toString();
    }
    picker.hidden = true;
    confirm.hidden = false;
    confirm.focus();
    confirm.scrollIntoView({ block: "start" });
    return true;
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
    document.querySelectorAll("select[data-zone-select]").forEach(detectedFirst);
  });

  // Without script the day, month and time buttons load the page with ?day=, ?month= or
  // ?start=; with it the same steps happen in place.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("button, a");
    if (!button) return;
    if (button.matches("#booking-calendar button[name=day]")) {
      event.preventDefault();
      showDay(button.value);
      remember("day", button.value);
    } else if (button.matches("#booking-calendar button[name=month]") && button.value) {
      event.preventDefault();
      showMonth(button.value);
      remember("month", button.value);
    } else if (button.matches("#booking-times button[name=start]")) {
      if (confirmTime(button)) {
        event.preventDefault();
        remember("start", button.value);
      }
    } else if (button.matches("[data-confirm-back]")) {
      var picker = document.getElementById("booking-picker");
      var confirm = document.getElementById("booking-confirm");
      var day = new URL(button.href, window.location.href).searchParams.get("day");
      if (!picker || !confirm || !day || !document.querySelector('.booking-day[data-day="' + day + '"]')) return;
      event.preventDefault();
      confirm.hidden = true;
      picker.hidden = false;
      showDay(day);
      remember("day", day);
    }
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
