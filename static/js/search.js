// The top bar's search box: as you type, the best matches of each kind in a dropdown (JSON from
// /search/suggest/, debounced; a newer query cancels the older request). Arrow keys move through
// the matches, Enter opens the chosen one (or the results page when none is chosen), Escape
// closes, "/" anywhere else focuses the box. Loaded as a file: the CSP allows no inline script.
(function () {
  "use strict";
  var DEBOUNCE_MS = 180;

  function make(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text) node.textContent = text;
    return node;
  }

  function init(form) {
    var input = form.querySelector("input[name=q]");
    var panel = form.querySelector("[data-search-panel]");
    var listbox = panel.querySelector("[role=listbox]");
    var message = panel.querySelector("[data-search-message]");
    var url = form.getAttribute("data-suggest-url");
    var timer = null;
    var controller = null;
    var active = -1;
    var shownQuery = null;

    function options() {
      return Array.prototype.slice.call(listbox.querySelectorAll("[role=option]"));
    }

    function open() {
      panel.hidden = false;
      input.setAttribute("aria-expanded", "true");
    }

    function close() {
      panel.hidden = true;
      input.setAttribute("aria-expanded", "false");
      setActive(-1);
    }

    function setActive(index) {
      var all = options();
      active = index;
      all.forEach(function (option, i) {
        option.setAttribute("aria-selected", i === index ? "true" : "false");
      });
      if (index >= 0 && all[index]) {
        input.setAttribute("aria-activedescendant", all[index].id);
        all[index].scrollIntoView({ block: "nearest" });
      } else {
        input.removeAttribute("aria-activedescendant");
      }
    }

    function option(href, title, detail, when) {
      var link = make("a", "search-option");
      link.href = href;
      link.id = "topbar-search-option-" + listbox.querySelectorAll("[role=option]").length;
      link.setAttribute("role", "option");
      link.setAttribute("aria-selected", "false");
      link.tabIndex = -1;
      link.appendChild(make("span", "search-option-title", title));
      if (detail) link.appendChild(make("span", "search-option-detail", detail));
      if (when) link.appendChild(make("span", "search-option-when", "Last message " + when));
      return link;
    }

    function render(data) {
      listbox.textContent = "";
      active = -1;
      input.removeAttribute("aria-activedescendant");
      (data.groups || []).forEach(function (group, g) {
        var section = make("div", "search-group");
        var headingId = "topbar-search-group-" + g;
        section.setAttribute("role", "group");
        section.setAttribute("aria-labelledby", headingId);
        var heading = make("div", "search-group-label", group.label);
        heading.id = headingId;
        heading.setAttribute("role", "presentation");
        section.appendChild(heading);
        listbox.appendChild(section);
        group.results.forEach(function (hit) {
          section.appendChild(option(hit.url, hit.title, hit.detail, hit.when));
        });
      });
      if (data.all_url && (data.groups || []).length) {
        var all = option(data.all_url, "See all results for “" + data.query + "”", "", "");
        all.classList.add("search-all");
        listbox.appendChild(all);
      }
      listbox.hidden = !(data.groups || []).length;
      message.textContent = data.message || "";
      message.hidden = !data.message;
      shownQuery = data.query;
      open();
    }

    function fetchSuggestions() {
      var query = input.value.trim();
      if (!query) {
        shownQuery = null;
        close();
        return;
      }
      if (controller) controller.abort();
      controller = new AbortController();
      var asked = input.value;
      fetch(url + "?" + new URLSearchParams({ q: query }).toString(), {
        headers: { Accept: "application/json" },
        credentials: "same-origin",
        signal: controller.signal,
      })
        .then(function (response) {
          var type = response.headers.get("Content-Type") || "";
          if (!response.ok || type.indexOf("application/json") !== 0) {
            throw new Error("Search is not available right now (" + response.status + ").");
          }
          return response.json();
        })
        .then(function (data) {
          if (input.value !== asked) return; // the box changed while this was on its way
          render(data);
        })
        .catch(function (error) {
          if (error.name === "AbortError") return;
          listbox.textContent = "";
          listbox.hidden = true;
          message.hidden = false;
          message.textContent = "Search is not available right now: press Enter to search on a page.";
          open();
        });
    }

    input.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(fetchSuggestions, DEBOUNCE_MS);
    });

    input.addEventListener("focus", function () {
      if (shownQuery !== null && input.value.trim() === shownQuery) open();
    });

    input.addEventListener("keydown", function (event) {
      var all = options();
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        if (panel.hidden) {
          if (shownQuery !== null) open();
          else fetchSuggestions();
          event.preventDefault();
          return;
        }
        if (!all.length) return;
        event.preventDefault();
        var step = event.key === "ArrowDown" ? 1 : -1;
        var next = active + step;
        if (next >= all.length) next = 0;
        if (next < 0) next = all.length - 1;
        setActive(next);
      } else if (event.key === "Enter") {
        if (!panel.hidden && active >= 0 && all[active]) {
          event.preventDefault();
          window.location.assign(all[active].href);
        }
        // Otherwise the form submits: the results page.
      } else if (event.key === "Escape") {
        if (!panel.hidden) {
          event.preventDefault();
          close();
        }
      } else if (event.key === "Tab") {
        close();
      }
    });

    listbox.addEventListener("mousemove", function (event) {
      var target = event.target.closest("[role=option]");
      if (target) setActive(options().indexOf(target));
    });

    document.addEventListener("click", function (event) {
      if (!form.contains(event.target)) close();
    });

    document.addEventListener("keydown", function (event) {
      if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey) return;
      var target = event.target;
      if (target.closest("input, textarea, select, [contenteditable]")) return;
      event.preventDefault();
      input.focus();
      input.select();
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form[data-search]").forEach(init);
  });
})();
