// The candidate page's "Send a text or an e-mail": the template list follows the channel,
// choosing a template fills the message with it rendered for this candidate (the Library's
// render endpoint, the same one the Inbox composer uses) and says so; editing
// the text by hand drops the template's HTML so what is sent is what was typed. The Copy
// buttons of scheduling links are app.js's [data-copy]. Loaded as a file: the CSP allows no
// inline script.
(function () {
  "use strict";

  function channelOf(form) {
    var checked = form.querySelector("[data-channel-choice]:checked");
    return checked ? checked.value : "";
  }

  function problem(form, text) {
    var box = form.querySelector("[data-message-problem]");
    box.textContent = text || "";
    box.hidden = !text;
  }

  function showPreview(form, shown) {
    form.querySelector("[data-message-preview]").hidden = !shown;
  }

  function syncChannel(form) {
    var channel = channelOf(form);
    var select = form.querySelector("[data-message-template]");
    select.querySelectorAll("option[data-channel]").forEach(function (option) {
      var other = option.getAttribute("data-channel") !== channel;
      option.hidden = other;
      option.disabled = other;
    });
    var chosen = select.options[select.selectedIndex];
    if (chosen && chosen.disabled) {
      select.value = "";
    }
    form.querySelector("[data-subject-field]").hidden = channel !== "email";
  }

  function loadTemplate(form) {
    var select = form.querySelector("[data-message-template]");
    var body = form.querySelector("[data-message-body]");
    var subject = form.querySelector("[data-message-subject]");
    var html = form.querySelector("[data-message-html]");
    problem(form, "");
    html.value = "";
    showPreview(form, false);
    if (!select.value) return;
    var url = form.getAttribute("data-render-url").replace("/0/", "/" + select.value + "/") +
      "?candidate=" + encodeURIComponent(form.getAttribute("data-candidate"));
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        return response.json().catch(function () { return null; }).then(function (data) {
          if (!response.ok || !data || data.error) {
            throw new Error((data && data.error) || "The template could not be loaded (" +
              response.status + "). Try again, or write the message yourself.");
          }
          return data;
        });
      })
      .then(function (data) {
        body.value = data.text;
        if (channelOf(form) === "email") {
          subject.value = data.subject;
          html.value = data.html;
        }
        showPreview(form, true);
      })
      .catch(function (error) {
        select.value = "";
        problem(form, error.message);
      });
  }

  function init(form) {
    syncChannel(form);
    form.addEventListener("change", function (event) {
      if (event.target.matches("[data-channel-choice]")) {
        syncChannel(form);
        loadTemplate(form);
      } else if (event.target.matches("[data-message-template]")) {
        loadTemplate(form);
      }
    });
    form.querySelector("[data-message-body]").addEventListener("input", function () {
      // Typed by hand now: send the text as written, not the template's HTML.
      form.querySelector("[data-message-html]").value = "";
      showPreview(form, false);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-message-form]").forEach(function (form) {
      if (form.querySelector("[data-message-body]")) init(form);
    });
  });
})();
