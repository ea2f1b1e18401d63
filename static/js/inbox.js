// The Inbox composer and thread: channel switch, SMS segment counter, "Insert template", and
// keeping the thread scrolled to the newest message. Loaded as a file: the CSP allows no inline
// script. The list and thread refresh themselves with htmx polling (see the templates).
(function () {
  "use strict";

  // ---- SMS segments: the same rules as integrations.messaging.sms_segments -----------------
  var GSM7_BASIC =
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
  var GSM7_EXTENSION = "\f^{}\\[~]|€";
  var basic = new Set(Array.from(GSM7_BASIC));
  var extension = new Set(Array.from(GSM7_EXTENSION));

  function smsSegments(text) {
    var chars = Array.from(text); // code points, so an emoji is one entry
    var gsm = chars.every(function (ch) { return basic.has(ch) || extension.has(ch); });
    var units, single, multi;
    if (gsm) {
      units = chars.map(function (ch) { return extension.has(ch) ? 2 : 1; });
      single = 160; multi = 153;
    } else {
      units = chars.map(function (ch) { return ch.codePointAt(0) > 0xffff ? 2 : 1; });
      single = 70; multi = 67;
    }
    var total = units.reduce(function (a, b) { return a + b; }, 0);
    var result = { encoding: gsm ? "GSM-7" : "UCS-2", segments: 0, chars: total,
                   single: single, multi: multi, culprit: null };
    if (!gsm) {
      result.culprit = chars.find(function (ch) { return !basic.has(ch) && !extension.has(ch); });
    }
    if (total === 0) return result;
    if (total <= single) { result.segments = 1; return result; }
    // An escape pair or a surrogate pair is never split across parts.
    var segments = 1, used = 0;
    units.forEach(function (size) {
      if (used + size > multi) { segments += 1; used = 0; }
      used += size;
    });
    result.segments = segments;
    return result;
  }
  window.RecruitFlowSms = { segments: smsSegments };

  // ---- Composer -----------------------------------------------------------------------------
  var MAX_SMS_CHARS = 1600;

  function channelOf(form) {
    var checked = form.querySelector("input[data-channel-radio]:checked");
    return checked ? checked.value : "";
  }

  function updateCounter(form) {
    var counter = form.querySelector("[data-segment-counter]");
    var body = form.querySelector("[data-composer-body]");
    if (!counter || !body) return;
    var info = smsSegments(body.value);
    var parts = [];
    if (info.segments <= 1) {
      parts.push(info.chars + "/" + info.single + " characters · 1 text");
    } else {
      parts.push(info.chars + " characters · " + info.segments + " texts of up to " + info.multi);
    }
    parts.push(info.encoding);
    var text = parts.join(" · ");
    if (info.culprit) {
      text += " (“" + info.culprit + "” is not in the GSM alphabet, so each text holds " +
        info.single + " characters)";
    }
    if (body.value.length > MAX_SMS_CHARS) {
      text += " · too long: a text can be at most 1,600 characters";
    }
    counter.textContent = text;
    counter.classList.toggle("error-text", body.value.length > MAX_SMS_CHARS);
    counter.dataset.segments = String(info.segments);
    counter.dataset.encoding = info.encoding;
  }

  function updateChannel(form) {
    var channel = channelOf(form);
    form.querySelectorAll("[data-only-channel]").forEach(function (el) {
      el.hidden = el.getAttribute("data-only-channel") !== channel;
    });
    loadTemplateOptions(form, channel);
    updateCounter(form);
  }

  // ---- Insert template (Library endpoints; the picker stays hidden when they are absent) ----
  var optionsCache = {};

  function loadTemplateOptions(form, channel) {
    var picker = form.querySelector("[data-template-picker]");
    if (!picker || !channel) return;
    var url = picker.getAttribute("data-options-url") + "?channel=" + encodeURIComponent(channel);
    var pending = optionsCache[url] || (optionsCache[url] = fetch(url, {
      credentials: "same-origin", headers: { Accept: "application/json" }
    }).then(function (response) {
      if (!response.ok) return null;
      return response.json();
    }).catch(function () { return null; }));
    pending.then(function (options) {
      var select = picker.querySelector("[data-template-select]");
      if (channelOf(form) !== channel) return;
      if (!Array.isArray(options) || !options.length) {
        picker.hidden = true;
        picker.removeAttribute("data-loaded-channel");
        return;
      }
      if (picker.getAttribute("data-loaded-channel") === channel && !picker.hidden) return;
      picker.setAttribute("data-loaded-channel", channel);
      while (select.options.length > 1) select.remove(1);
      options.forEach(function (option) {
        select.add(new Option(option.name, option.id));
      });
      select.value = "";
      picker.hidden = false;
    });
  }

  function insertTemplate(form, select) {
    var picker = select.closest("[data-template-picker]");
    var error = picker.querySelector("[data-template-error]");
    var id = select.value;
    error.hidden = true;
    if (!id) return;
    var url = picker.getAttribute("data-render-url").replace("{id}", encodeURIComponent(id));
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        return response.json().catch(function () { return null; }).then(function (data) {
          if (!response.ok || !data) {
            throw new Error((data && data.error) || "The template could not be loaded (" +
              response.status + "). Try again, or write the message yourself.");
          }
          return data;
        });
      })
      .then(function (data) {
        if (data.error) throw new Error(data.error);
        var body = form.querySelector("[data-composer-body]");
        var subject = form.querySelector("[data-composer-subject]");
        var html = form.querySelector("input[name=html]");
        if (body.value.trim() && !window.confirm("Replace what you typed with this template?")) {
          select.value = "";
          return;
        }
        body.value = data.text || "";
        body.setAttribute("data-template-text", body.value);
        if (subject && channelOf(form) === "email" && data.subject) subject.value = data.subject;
        if (html) html.value = channelOf(form) === "email" ? (data.html || "") : "";
        select.value = "";
        updateCounter(form);
        body.focus();
      })
      .catch(function (err) {
        error.textContent = err.message;
        error.hidden = false;
        select.value = "";
      });
  }

  // ---- Thread scrolling ---------------------------------------------------------------------
  function scrollToNewest(container) {
    if (container) container.scrollTop = container.scrollHeight;
  }
  var stickToBottom = true;

  function init() {
    document.querySelectorAll("form[data-composer]").forEach(updateChannel);
    scrollToNewest(document.getElementById("thread-messages"));
  }

  document.addEventListener("change", function (event) {
    var form = event.target.closest("form[data-composer]");
    if (!form) return;
    if (event.target.matches("input[data-channel-radio]")) updateChannel(form);
    if (event.target.matches("[data-template-select]")) insertTemplate(form, event.target);
  });

  document.addEventListener("input", function (event) {
    var form = event.target.closest("form[data-composer]");
    if (form && event.target.matches("[data-composer-body]")) updateCounter(form);
  });

  // Capture phase, so this runs before htmx serializes the form: HTML from a template is kept
  // only while the text is still the template's; an edited text goes out as plain text.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches || !form.matches("form[data-composer]")) return;
    var body = form.querySelector("[data-composer-body]");
    var html = form.querySelector("input[name=html]");
    if (html && body && body.getAttribute("data-template-text") !== body.value) html.value = "";
  }, true);

  document.addEventListener("click", function (event) {
    var link = event.target.closest(".conversation a");
    if (!link) return;
    document.querySelectorAll(".conversation.active").forEach(function (el) {
      el.classList.remove("active");
    });
    link.closest(".conversation").classList.add("active");
  });

  document.addEventListener("htmx:beforeSwap", function (event) {
    var messages = document.getElementById("thread-messages");
    if (messages) {
      stickToBottom = messages.scrollHeight - messages.scrollTop - messages.clientHeight < 60;
    }
    // Keep what was typed: never let a failed send replace the composer with an error page.
    if (event.detail.xhr && event.detail.xhr.status >= 400 &&
        event.detail.target && event.detail.target.id === "composer") {
      event.detail.shouldSwap = false;
      var form = event.detail.target;
      var note = form.querySelector("[data-send-failed]");
      if (!note) {
        note = document.createElement("p");
        note.className = "error-text small";
        note.setAttribute("data-send-failed", "");
        form.prepend(note);
      }
      note.textContent = event.detail.xhr.status === 403
        ? "Your role cannot send messages. Nothing was sent; your text is still here."
        : "Sending failed (" + event.detail.xhr.status + "). Nothing was lost: try again.";
    }
  });

  // After any swap (the thread pane, a poll, a send, an out-of-band region), bring the
  // composer's channel-dependent parts and the scroll position up to date.
  var paneSwapped = false;
  var justSent = false;
  document.addEventListener("htmx:beforeRequest", function (event) {
    if (event.detail.target && event.detail.target.id === "thread-pane") paneSwapped = true;
    if (event.detail.elt && event.detail.elt.matches && event.detail.elt.matches("form[data-composer]")) {
      justSent = true;
    }
  });

  function refresh() {
    document.querySelectorAll("form[data-composer]").forEach(updateChannel);
    var messages = document.getElementById("thread-messages");
    if (paneSwapped || stickToBottom) scrollToNewest(messages);
    paneSwapped = false;
    if (justSent && document.activeElement === document.body) {
      var body = document.querySelector("form[data-composer] [data-composer-body]");
      if (body) body.focus();
    }
    justSent = false;
  }

  document.addEventListener("htmx:afterSettle", refresh);
  document.addEventListener("htmx:oobAfterSwap", function () { window.setTimeout(refresh, 0); });

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { init(); });
  } else {
    init();
  }
})();
