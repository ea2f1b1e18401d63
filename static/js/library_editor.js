// Library → e-mail templates: the visual editor of the HTML body (Tiptap, bundled in
// static/vendor/tiptap/ by scripts/build_editor.sh), with merge fields as chips and the HTML
// source one click away. The textarea stays the form's field: the editor writes the body into it
// on every change, chips as {{ field }}, so saving, the live preview and the server's checks see
// exactly what is sent. A body the editor can't hold ({% if %}, styles, tables…) stays HTML
// source, with the reason shown (the server decides at load, library.forms.visual_editor_refusal;
// the same rules are checked here when switching back from source).
(function () {
  "use strict";

  var field = document.querySelector("[data-rich-field]");
  var T = window.Tiptap;
  if (!field || !T) return;
  var form = field.closest("form");
  var readOnly = form.hasAttribute("data-read-only");
  var textarea = field.querySelector("textarea[name=html_body]");
  var mount = field.querySelector("[data-rich-editor]");
  var sourcePane = field.querySelector("[data-source-pane]");
  var toggle = field.querySelector("[data-source-toggle]");
  var note = field.querySelector("[data-visual-note]");
  var toolbar = field.querySelector("[data-visual-toolbar]");
  var modeInput = form.querySelector("[data-editor-mode]");
  var tags = JSON.parse(field.getAttribute("data-visual-tags") || "{}");
  var labels = JSON.parse(field.getAttribute("data-field-labels") || "{}");
  var OUTPUT = /\{\{\s*([\s\S]+?)\s*\}\}/g;
  var mode = null;

  function each(list, fn) {
    Array.prototype.forEach.call(list, fn);
  }

  function detached(html) {
    // A document of its own: nothing in it runs or loads, and the page's CSP is not involved.
    var doc = document.implementation.createHTMLDocument("");
    doc.body.innerHTML = html;
    return doc;
  }

  function unwrap(element) {
    while (element.firstChild) element.parentNode.insertBefore(element.firstChild, element);
    element.remove();
  }

  // --- Merge fields as chips ------------------------------------------------------------------

  function chipPath(expression) {
    var bar = expression.indexOf("|");
    return (bar === -1 ? expression : expression.slice(0, bar)).trim();
  }

  function chipLabel(expression) {
    var bar = expression.indexOf("|");
    var path = chipPath(expression);
    var label = labels[path] || path;
    return bar === -1 ? label : label + " | " + expression.slice(bar + 1).trim();
  }

  var MergeField = T.Node.create({
    name: "mergeField",
    group: "inline",
    inline: true,
    atom: true,
    selectable: true,
    addAttributes: function () {
      return {
        expression: {
          default: "",
          parseHTML: function (element) {
            return element.getAttribute("data-merge-field");
          },
          renderHTML: function (attributes) {
            return { "data-merge-field": attributes.expression };
          },
        },
      };
    },
    parseHTML: function () {
      return [{ tag: "span[data-merge-field]" }];
    },
    renderHTML: function (props) {
      var expression = props.node.attrs.expression;
      var known = Object.prototype.hasOwnProperty.call(labels, chipPath(expression));
      // An unknown field is marked; the preview and the save name it with its line.
      return [
        "span",
        T.mergeAttributes(props.HTMLAttributes, {
          class: known ? "merge-field-chip" : "merge-field-chip unknown",
          title: (known ? "" : "Not a merge field: ") + "{{ " + expression + " }}",
        }),
        chipLabel(expression),
      ];
    },
    renderText: function (props) {
      return "{{ " + props.node.attrs.expression + " }}";
    },
    addInputRules: function () {
      // Typing a whole {{ field }} turns it into a chip.
      return [
        T.nodeInputRule({
          find: /\{\{[^{}]+\}\}$/,
          type: this.type,
          getAttributes: function (match) {
            return { expression: match[0].slice(2, -2).trim() };
          },
        }),
      ];
    },
  });

  // Every {{ … }} in the text (never in attributes such as href) becomes a chip element.
  function chipify(doc) {
    var walker = doc.createTreeWalker(doc.body, NodeFilter.SHOW_TEXT);
    var texts = [];
    while (walker.nextNode()) {
      if (walker.currentNode.nodeValue.indexOf("{{") !== -1) texts.push(walker.currentNode);
    }
    texts.forEach(function (text) {
      var value = text.nodeValue;
      var fragment = doc.createDocumentFragment();
      var last = 0;
      var match;
      OUTPUT.lastIndex = 0;
      while ((match = OUTPUT.exec(value))) {
        if (match.index > last) {
          fragment.appendChild(doc.createTextNode(value.slice(last, match.index)));
        }
        var chip = doc.createElement("span");
        chip.setAttribute("data-merge-field", match[1].trim());
        fragment.appendChild(chip);
        last = OUTPUT.lastIndex;
      }
      if (last === 0) return;
      if (last < value.length) fragment.appendChild(doc.createTextNode(value.slice(last)));
      text.parentNode.replaceChild(fragment, text);
    });
    return doc;
  }

  // --- What the editor can hold (mirrors library.forms.visual_editor_refusal) ----------------

  function and(items) {
    return items.length === 1
      ? items[0]
      : items.slice(0, -1).join(", ") + " and " + items[items.length - 1];
  }

  // Read as text, never parsed into a document: parsing a style attribute in this page, even
  // in a detached document, is reported as a CSP violation.
  var TAG = /<!--[\s\S]*?(?:-->|$)|<!doctype[^>]*>|<([a-zA-Z][\w:-]*)((?:\s*[^\s"'>\/=]+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'=<>`]+))?)*)\s*\/?>/gi;
  var ATTRIBUTE = /([^\s"'>\/=]+)(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'=<>`]+))?/g;

  function refusal(source) {
    var found = [];
    if (source.indexOf("{%") !== -1) found.push("{% … %} blocks such as {% if %}");
    if (source.indexOf("{#") !== -1) found.push("template comments {# … #}");
    if (/\{\{-|-\}\}/.test(source)) found.push("whitespace control {{- … -}}");
    if (/\{\{[^}]*[<>&][^}]*\}\}/.test(source)) {
      found.push("a merge field with <, > or & inside its {{ … }}");
    }
    var elements = [];
    var attributes = [];
    var comments = false;
    var match;
    TAG.lastIndex = 0;
    while ((match = TAG.exec(source))) {
      if (match[0].indexOf("<!--") === 0) {
        comments = true;
        continue;
      }
      var tag = match[1] ? match[1].toLowerCase() : "!doctype";
      if (!Object.prototype.hasOwnProperty.call(tags, tag)) {
        if (elements.indexOf("<" + tag + ">") === -1) elements.push("<" + tag + ">");
        continue;
      }
      var attribute;
      ATTRIBUTE.lastIndex = 0;
      while ((attribute = ATTRIBUTE.exec(match[2] || ""))) {
        var name = attribute[1].toLowerCase();
        var where = name + " on <" + tag + ">";
        if (tags[tag].indexOf(name) === -1 && attributes.indexOf(where) === -1) {
          attributes.push(where);
        }
      }
    }
    if (comments) found.push("HTML comments");
    if (elements.length) {
      found.push("the " + and(elements.slice(0, 4)) + " element" + (elements.length > 1 ? "s" : ""));
    }
    if (attributes.length) {
      found.push(
        "the attribute" + (attributes.length > 1 ? "s " : " ") + and(attributes.slice(0, 4))
      );
    }
    return found.length ? "This body uses " + and(found) + ", which the visual editor would lose" : "";
  }

  // --- Editor ⇄ HTML source ---------------------------------------------------------------------

  function toEditorHTML(source) {
    return chipify(detached(source)).body.innerHTML;
  }

  function toSource() {
    if (editor.isEmpty) return "";
    var doc = detached(editor.getHTML());
    var expressions = [];
    // Chips become placeholders first, so their {{ … }} is written as typed (unescaped).
    each(doc.body.querySelectorAll("span[data-merge-field]"), function (chip) {
      expressions.push(chip.getAttribute("data-merge-field"));
      chip.replaceWith(doc.createTextNode("\uE000" + (expressions.length - 1) + "\uE001"));
    });
    // A list item of one paragraph is written as the item alone (mail apps space <li><p> apart).
    each(doc.body.querySelectorAll("li"), function (item) {
      var only = item.firstElementChild;
      if (item.childNodes.length === 1 && only && only.tagName === "P") unwrap(only);
    });
    var html = Array.prototype.map
      .call(doc.body.children, function (block) {
        return block.outerHTML;
      })
      .join("\n");
    return html.replace(/\uE000(\d+)\uE001/g, function (_, index) {
      return "{{ " + expressions[Number(index)] + " }}";
    });
  }

  function writeSource() {
    if (mode !== "visual") return;
    textarea.value = toSource();
    textarea.dispatchEvent(new Event("input", { bubbles: true }));
  }

  // Pasted HTML (from a word processor, a web page, Google Docs): the schema keeps only what it
  // knows; here inline styles become what they meant (bold, italic) before anything parses them
  // (a parsed style attribute is a CSP violation), Google Docs' all-bold wrapper and office
  // leftovers go, and {{ … }} become chips.
  var STYLE = /\sstyle\s*=\s*("[^"]*"|'[^']*'|[^\s>]+)/gi;

  function styleMeaning(style) {
    var meaning = "";
    if (/font-weight\s*:\s*(bold|[6-9]00)/i.test(style)) meaning += " data-paste-bold";
    if (/font-weight\s*:\s*(normal|[1-4]00)/i.test(style)) meaning += " data-paste-plain";
    if (/font-style\s*:\s*italic/i.test(style)) meaning += " data-paste-italic";
    return meaning;
  }

  function wrapChildren(doc, element, tag) {
    var wrapper = doc.createElement(tag);
    while (element.firstChild) wrapper.appendChild(element.firstChild);
    element.appendChild(wrapper);
  }

  function cleanPaste(html) {
    var doc = detached(
      html.replace(STYLE, function (_, style) {
        return styleMeaning(style);
      })
    );
    each(doc.body.querySelectorAll("b[data-paste-plain], strong[data-paste-plain]"), unwrap);
    each(doc.body.querySelectorAll("[data-paste-bold]"), function (element) {
      if (!/^(B|STRONG)$/.test(element.tagName)) wrapChildren(doc, element, "strong");
    });
    each(doc.body.querySelectorAll("[data-paste-italic]"), function (element) {
      if (!/^(I|EM)$/.test(element.tagName)) wrapChildren(doc, element, "em");
    });
    each(doc.body.querySelectorAll("style, script, meta, link, title, xml, o\\:p"), function (el) {
      el.remove();
    });
    var walker = doc.createTreeWalker(doc.body, NodeFilter.SHOW_COMMENT);
    var comments = [];
    while (walker.nextNode()) comments.push(walker.currentNode);
    comments.forEach(function (comment) {
      comment.remove();
    });
    return chipify(doc).body.innerHTML;
  }

  var editor = new T.Editor({
    element: mount,
    injectCSS: false, // the CSP allows no inline <style>: static/css/library.css has the rules
    editable: !readOnly,
    extensions: [
      T.StarterKit.configure({
        code: false,
        codeBlock: false,
        horizontalRule: false,
        trailingNode: false,
        heading: { levels: [1, 2, 3] },
        link: {
          openOnClick: false,
          defaultProtocol: "https",
          HTMLAttributes: { target: null, rel: null, class: null },
        },
      }),
      MergeField,
    ],
    editorProps: {
      attributes: {
        class: "rich-editor-content",
        role: "textbox",
        "aria-multiline": "true",
        "aria-labelledby": "html-body-label",
      },
      transformPastedHTML: cleanPaste,
    },
    onUpdate: writeSource,
    onTransaction: syncToolbar,
  });

  function load(source) {
    editor.commands.setContent(toEditorHTML(source), { emitUpdate: false });
    syncToolbar();
  }

  function setMode(next) {
    mode = next;
    var visual = next === "visual";
    mount.hidden = !visual;
    if (toolbar) toolbar.hidden = !visual;
    sourcePane.hidden = visual;
    toggle.setAttribute("aria-pressed", visual ? "false" : "true");
    if (modeInput) modeInput.value = next;
    if (!visual) hideLinkBar();
  }

  function say(text) {
    note.textContent = text;
    note.hidden = !text;
  }

  toggle.addEventListener("click", function () {
    if (mode === "visual") {
      setMode("source");
      say("");
      textarea.focus();
      return;
    }
    var why = refusal(textarea.value);
    if (why) {
      say(why + ", so it stays in HTML source. Take those out to edit it visually.");
      return;
    }
    load(textarea.value);
    setMode("visual");
    say("");
    editor.commands.focus();
  });

  // A merge field picked in library.js while the editor was the field in use.
  mount.addEventListener("rf:insert-field", function (event) {
    if (readOnly) return;
    editor
      .chain()
      .focus()
      .insertContent({ type: "mergeField", attrs: { expression: event.detail.path } })
      .run();
  });

  // --- Toolbar ----------------------------------------------------------------------------------

  var COMMANDS = {
    bold: function (chain) {
      return chain.toggleBold();
    },
    italic: function (chain) {
      return chain.toggleItalic();
    },
    bulletList: function (chain) {
      return chain.toggleBulletList();
    },
    orderedList: function (chain) {
      return chain.toggleOrderedList();
    },
    heading: function (chain) {
      return chain.toggleHeading({ level: 2 });
    },
    paragraph: function (chain) {
      return chain.setParagraph();
    },
  };

  function isActive(name) {
    if (name === "heading") return editor.isActive("heading");
    if (name === "paragraph") {
      return editor.isActive("paragraph") && !editor.isActive("bulletList") &&
        !editor.isActive("orderedList");
    }
    return editor.isActive(name);
  }

  function syncToolbar() {
    if (!toolbar || typeof editor === "undefined") return;
    each(toolbar.querySelectorAll("[data-command]"), function (button) {
      var active = isActive(button.getAttribute("data-command"));
      button.setAttribute("aria-pressed", active ? "true" : "false");
    });
  }

  var linkBar = field.querySelector("[data-link-bar]");
  var linkInput = field.querySelector("[data-link-input]");
  var linkError = field.querySelector("[data-link-error]");

  function hideLinkBar() {
    if (!linkBar) return;
    linkBar.hidden = true;
    linkError.hidden = true;
  }

  // An address as a candidate's mail app will open it: a bare domain gets https://, a bare
  // e-mail address mailto:.
  function normalizeLink(raw) {
    var url = raw.trim();
    if (/^\{\{/.test(url) || /^[a-z][a-z0-9+.-]*:/i.test(url)) return url;
    if (/^[^\s@/]+@[^\s@/]+\.[^\s@/]+$/.test(url)) return "mailto:" + url;
    if (/^(www\.)?[a-z0-9-]+(\.[a-z0-9-]+)+([/?#]\S*)?$/i.test(url)) return "https://" + url;
    return url;
  }

  function linkProblem(url) {
    if (!url) return "Type the address the link opens, e.g. https://example.com/careers.";
    var merge = url.match(/^\{\{\s*([a-z_.]+)\s*\}\}$/);
    if (merge) {
      return labels[merge[1]]
        ? ""
        : "“" + url + "” is not a merge field. Use a link field such as {{ scheduling_link }}.";
    }
    if (/^https?:\/\/[^\s/?#.]+(\.[^\s/?#.]+)+([/?#]\S*)?$/i.test(url)) return "";
    if (/^mailto:[^\s@]+@[^\s@]+\.[^\s@]+$/i.test(url)) return "";
    if (/^tel:\+?[0-9 ()-]{3,}$/i.test(url)) return "";
    return (
      "“" + url + "” isn't an address a candidate can open. Start it with https:// (mailto: " +
      "for an e-mail address), or use a link merge field such as {{ scheduling_link }}."
    );
  }

  function applyLink() {
    var url = normalizeLink(linkInput.value);
    var problem = linkProblem(url);
    if (problem) {
      linkError.textContent = problem;
      linkError.hidden = false;
      linkInput.focus();
      return;
    }
    var chain = editor.chain().focus();
    if (editor.state.selection.empty && !editor.isActive("link")) {
      var path = (url.match(/^\{\{\s*([a-z_.]+)\s*\}\}$/) || [])[1];
      chain.insertContent({
        type: "text",
        text: path ? labels[path] : url.replace(/^mailto:/, ""),
        marks: [{ type: "link", attrs: { href: url } }],
      });
    } else {
      chain.extendMarkRange("link").setLink({ href: url });
    }
    chain.run();
    hideLinkBar();
  }

  if (toolbar) {
    // Keep the editor's selection while a button is pressed.
    toolbar.addEventListener("mousedown", function (event) {
      if (event.target.closest("[data-command]")) event.preventDefault();
    });
    toolbar.addEventListener("click", function (event) {
      var button = event.target.closest("[data-command]");
      if (!button) return;
      var name = button.getAttribute("data-command");
      if (name === "link") {
        linkInput.value = editor.getAttributes("link").href || "";
        linkError.hidden = true;
        linkBar.hidden = false;
        linkInput.focus();
        return;
      }
      COMMANDS[name](editor.chain().focus()).run();
    });
    linkBar.addEventListener("click", function (event) {
      if (event.target.closest("[data-link-apply]")) applyLink();
      else if (event.target.closest("[data-link-remove]")) {
        editor.chain().focus().extendMarkRange("link").unsetLink().run();
        hideLinkBar();
      } else if (event.target.closest("[data-link-cancel]")) {
        hideLinkBar();
        editor.commands.focus();
      }
    });
    linkInput.addEventListener("keydown", function (event) {
      if (event.key === "Enter") {
        event.preventDefault(); // not the template form's submit
        applyLink();
      } else if (event.key === "Escape") {
        hideLinkBar();
        editor.commands.focus();
      }
    });
  }

  // --- Start ------------------------------------------------------------------------------------

  toggle.hidden = false;
  if (field.getAttribute("data-start-mode") === "visual") {
    load(textarea.value);
    setMode("visual");
  } else {
    setMode("source");
  }
})();
