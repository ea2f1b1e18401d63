// Library → message template editor: merge-field picker, the HTML source's toolbar, the derived
// plain-text part, the live SMS segment counter and the preview's candidate search. The preview
// itself is htmx (see the #preview element); an e-mail's visual editor is library_editor.js.
// Loaded as a file: the CSP allows no inline script.
(function () {
  "use strict";

  var form = document.querySelector("[data-template-form]");
  if (!form) return;
  var readOnly = form.hasAttribute("data-read-only");
  var lastTarget = null;
  var dirty = false;
  var submitting = false;

  function targets() {
    return Array.prototype.slice.call(form.querySelectorAll("[data-merge-target]"));
  }

  function shown(element) {
    return element && !element.closest("[hidden]");
  }

  function defaultTarget() {
    var rich = form.querySelector("[data-rich-editor]");
    if (shown(rich)) return rich;
    return (
      form.querySelector("textarea[name=html_body]") ||
      form.querySelector("textarea[data-sms-body]") ||
      targets()[0]
    );
  }

  // Insert text at the cursor (replacing the selection) and tell htmx and the counter.
  function insertAt(field, before, after) {
    if (!field || field.readOnly || field.disabled) return;
    var start = field.selectionStart == null ? field.value.length : field.selectionStart;
    var end = field.selectionEnd == null ? start : field.selectionEnd;
    var selected = field.value.slice(start, end);
    var text = before + selected + (after || "");
    field.focus();
    field.setRangeText(text, start, end, "end");
    if (after && !selected) {
      var caret = start + before.length;
      field.setSelectionRange(caret, caret);
    }
    field.dispatchEvent(new Event("input", { bubbles: true }));
  }

  form.addEventListener("focusin", function (event) {
    var rich = event.target.closest("[data-rich-editor]");
    if (rich) lastTarget = rich;
    else if (event.target.matches("[data-merge-target]")) lastTarget = event.target;
  });

  form.addEventListener("click", function (event) {
    var chip = event.target.closest("[data-insert]");
    if (chip) {
      event.preventDefault();
      var target =
        lastTarget && shown(lastTarget) && !lastTarget.readOnly ? lastTarget : defaultTarget();
      if (target && target.hasAttribute("data-rich-editor")) {
        // The e-mail's visual editor (library_editor.js) inserts the field as a chip.
        target.dispatchEvent(
          new CustomEvent("rf:insert-field", { detail: { path: chip.getAttribute("data-field") } })
        );
      } else {
        insertAt(target, chip.getAttribute("data-insert"));
      }
      return;
    }
    var html = form.querySelector("textarea[name=html_body]");
    var wrap = event.target.closest("[data-wrap]");
    if (wrap && html) {
      event.preventDefault();
      var tag = wrap.getAttribute("data-wrap");
      if (tag === "a") insertAt(html, '<a href="https://">', "</a>");
      else insertAt(html, "<" + tag + ">", "</" + tag + ">");
      return;
    }
    var raw = event.target.closest("[data-insert-html]");
    if (raw && html) {
      event.preventDefault();
      insertAt(html, raw.getAttribute("data-insert-html"));
    }
  });

  // --- The e-mail's plain-text part: derived from the HTML unless written by hand -------------

  var toggle = form.querySelector("[data-text-toggle]");
  var textPart = form.querySelector("[data-text-part]");

  function syncTextPart() {
    if (!toggle || !textPart) return;
    textPart.readOnly = readOnly || !toggle.checked;
    textPart.classList.toggle("derived", !toggle.checked);
  }

  if (toggle && textPart && !readOnly) {
    toggle.addEventListener("change", function () {
      if (!toggle.checked) {
        var ok = window.confirm(
          "Go back to the plain text derived from the HTML body? What you wrote by hand in the " +
            "plain-text part will be replaced."
        );
        if (!ok) {
          toggle.checked = true;
          return;
        }
      }
      syncTextPart();
      if (toggle.checked) textPart.focus();
    });
  }
  syncTextPart();

  // The preview answers 400 when the text can't render; its body lists the problems, so show it.
  document.body.addEventListener("htmx:beforeSwap", function (event) {
    var detail = event.detail;
    if (detail && detail.target && detail.target.id === "preview" && detail.xhr &&
        detail.xhr.status === 400) {
      detail.shouldSwap = true;
      detail.isError = false;
    }
  });

  document.body.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail && event.detail.target;
    if (!target) return;
    if (target.id === "preview") {
      // The e-mail renders in its sandboxed frame from its own document (see the view).
      var documentForm = target.querySelector("form[data-preview-document]");
      if (documentForm) documentForm.submit();
      if (toggle && textPart && !toggle.checked) {
        var derived = target.querySelector("[data-derived-text]");
        if (derived) textPart.value = derived.textContent;
      }
    }
    if (target.id === "preview-candidate") {
      // New search results: preview with the first match.
      target.dispatchEvent(new Event("change", { bubbles: true }));
    }
  });

  // --- SMS segment counter (GSM 03.38; mirrors integrations.messaging.sms_segments) -----------

  var GSM7_BASIC =
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
  var GSM7_EXTENSION = "\f^{}\\[~]|€";

  function segments(text) {
    var chars = Array.from(text);
    var gsm = chars.every(function (ch) {
      return GSM7_BASIC.indexOf(ch) !== -1 || GSM7_EXTENSION.indexOf(ch) !== -1;
    });
    var units = chars.map(function (ch) {
      if (gsm) return GSM7_EXTENSION.indexOf(ch) !== -1 ? 2 : 1;
      return ch.codePointAt(0) > 0xffff ? 2 : 1;
    });
    var single = gsm ? 160 : 70;
    var multi = gsm ? 153 : 67;
    var total = units.reduce(function (a, b) {
      return a + b;
    }, 0);
    var count = 0;
    if (total > 0 && total <= single) count = 1;
    else if (total > single) {
      var used = 0;
      count = 1;
      units.forEach(function (size) {
        if (used + size > multi) {
          count += 1;
          used = 0;
        }
        used += size;
      });
    }
    var because = "";
    if (!gsm) {
      because =
        chars.find(function (ch) {
          return GSM7_BASIC.indexOf(ch) === -1 && GSM7_EXTENSION.indexOf(ch) === -1;
        }) || "";
    }
    return {
      encoding: gsm ? "GSM-7" : "UCS-2",
      segments: count,
      characters: total,
      perSegment: count > 1 ? multi : single,
      because: because,
    };
  }

  var smsBody = form.querySelector("[data-sms-body]");
  var counter = form.querySelector("[data-sms-counter]");

  function updateCounter() {
    if (!smsBody || !counter) return;
    var c = segments(smsBody.value);
    var text =
      "As typed: " +
      c.characters +
      (c.segments > 1 ? " characters · " : " / " + c.perSegment + " characters · ") +
      c.segments +
      (c.segments === 1 ? " segment" : " segments") +
      (c.segments > 1 ? " of " + c.perSegment : "") +
      " · " +
      c.encoding;
    if (c.because) text += " (because of “" + c.because + "”)";
    counter.textContent = text;
    counter.classList.toggle("warn-text", c.segments > 1 || c.encoding === "UCS-2");
  }

  if (smsBody) {
    smsBody.addEventListener("input", updateCounter);
    updateCounter();
  }

  // --- Nothing typed is lost: warn before leaving with unsaved changes ------------------------

  if (!readOnly) {
    form.addEventListener("input", function () {
      dirty = true;
    });
    form.addEventListener("submit", function () {
      submitting = true;
    });
    window.addEventListener("beforeunload", function (event) {
      if (dirty && !submitting) {
        event.preventDefault();
        event.returnValue = "";
      }
    });
  }
})();
