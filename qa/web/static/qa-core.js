/* Shared by the chat page (chat.js) and the iframe chat (embed.js).
 *
 * Everything that comes from a question or from a report is put into the page as text nodes
 * (textContent / createTextNode), never as markup. Highlighting builds <mark> elements around
 * text nodes. The words to highlight come from the engine: each passage's `highlights`, the
 * [start, end) spans of its text that hold the question's words (qa/web/core.py uses the same spans).
 */
(function () {
  "use strict";

  var MARKER = /\[(\d{1,3}(?:\s*,\s*\d{1,3})*)\]/g;

  /* A fragment of text nodes with <mark> around the spans of `spans` (a passage's highlights).
   * The engine counts characters as code points, so the text is cut by code point, not by UTF-16
   * unit. Spans that are not integer pairs inside the text, in order and not overlapping, are
   * ignored: the text always comes out whole, once, in order. */
  function highlight(text, spans) {
    var frag = document.createDocumentFragment();
    var chars = Array.from(String(text || ""));
    var pos = 0;
    function add(a, b, marked) {
      var piece = chars.slice(a, b).join("");
      if (!marked) { frag.appendChild(document.createTextNode(piece)); return; }
      var mark = document.createElement("mark");
      mark.textContent = piece;
      frag.appendChild(mark);
    }
    (Array.isArray(spans) ? spans : []).forEach(function (s) {
      if (!Array.isArray(s) || s.length !== 2 || !Number.isInteger(s[0]) || !Number.isInteger(s[1])) return;
      if (s[0] < pos || s[1] <= s[0] || s[1] > chars.length) return;
      if (s[0] > pos) add(pos, s[0], false);
      add(s[0], s[1], true);
      pos = s[1];
    });
    if (pos < chars.length) add(pos, chars.length, false);
    return frag;
  }

  function answerSegments(answer) {
    var out = [];
    var pos = 0;
    var m;
    if (!answer) return out;
    MARKER.lastIndex = 0;
    while ((m = MARKER.exec(answer)) !== null) {
      if (m.index > pos) out.push({ text: answer.slice(pos, m.index), cites: [] });
      out.push({ text: "", cites: m[1].split(/\s*,\s*/).map(Number) });
      pos = m.index + m[0].length;
    }
    if (pos < answer.length) out.push({ text: answer.slice(pos), cites: [] });
    return out;
  }

  /* el("p", {class: "x", href: "..."}, ["text", node]) - attributes by setAttribute, children as text */
  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (k) {
        if (attrs[k] === null || attrs[k] === undefined || attrs[k] === false) return;
        node.setAttribute(k, attrs[k] === true ? "" : String(attrs[k]));
      });
    }
    (children || []).forEach(function (c) {
      if (c === null || c === undefined) return;
      node.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    });
    return node;
  }

  function visuallyHidden(text) {
    return el("span", { class: "visually-hidden" }, [text]);
  }

  function docHref(p, opts) {
    var href = opts.docBase.replace(/DOCID(?![\s\S]*DOCID)/, encodeURIComponent(String(p.doc_id)));
    if (p.anchor) href += "#" + encodeURIComponent(String(p.anchor));
    return href;
  }

  function linkAttrs(href, opts, cls) {
    var a = { href: href, class: cls || null };
    if (opts.newTab) { a.target = "_blank"; a.rel = "noopener"; }
    return a;
  }

  function citation(p, prefix, opts) {
    var href = docHref(p, opts);
    var title = String(p.title || p.doc_id);
    var bits = [];
    if (p.publisher) bits.push(String(p.publisher));
    if (p.date) bits.push(String(p.date));
    if (p.section) bits.push("Section: " + p.section);
    if (p.paragraph) bits.push("Paragraph " + p.paragraph);
    if (p.page) bits.push("Page " + p.page);
    var quote = el("blockquote", { class: "cite-text" });
    quote.appendChild(highlight(p.text, p.highlights));
    var readLabel = ": " + title + (p.paragraph ? ", paragraph " + p.paragraph : "");
    return el("li", { class: "citation", id: prefix + "-c" + p.rank, tabindex: "-1" }, [
      el("p", { class: "cite-head" }, [
        el("span", { class: "cite-num" }, ["[" + p.rank + "]"]), " ",
        el("a", linkAttrs(href, opts, "cite-title"), [title])
      ]),
      el("p", { class: "cite-meta" }, [bits.join(" \u00b7 ")]),
      quote,
      el("p", { class: "cite-link" }, [
        el("a", linkAttrs(href, opts), ["Read in context", visuallyHidden(readLabel)])
      ])
    ]);
  }

  function citationList(passages, prefix, opts, extraClass) {
    var ol = el("ol", { class: "citations" + (extraClass ? " " + extraClass : ""), role: "list" });
    passages.forEach(function (p) { ol.appendChild(citation(p, prefix, opts)); });
    return ol;
  }

  var NEEDS_EARLIER_QUESTION = "This reads as a follow-up to an earlier question, and there is none in this conversation: ask the whole question (which year, which children, which report).";

  /* How the question was read: the same words as the server-rendered page and the CLI. */
  function searchNote(result) {
    var search = result.search || {};
    var corrected = search.corrected || {};
    var typed = Object.keys(corrected);
    var missing = Array.isArray(search.not_in_reports) ? search.not_in_reports : [];
    var dangling = search.needs_earlier_question === true;
    if (!typed.length && !missing.length && !dangling) return null;
    var p = el("p", { class: "search-note" });
    if (dangling) {
      /* qa.answer.NEEDS_EARLIER_QUESTION */
      p.appendChild(document.createTextNode(NEEDS_EARLIER_QUESTION + (typed.length || missing.length ? " " : "")));
    }
    if (typed.length) {
      p.appendChild(document.createTextNode("Read "));
      typed.forEach(function (t, i) {
        p.appendChild(document.createTextNode((i ? ", " : "") + "\u201c" + t + "\u201d as \u201c"));
        p.appendChild(el("strong", null, [String(corrected[t])]));
        p.appendChild(document.createTextNode("\u201d"));
      });
      p.appendChild(document.createTextNode("."));
    }
    if (missing.length) {
      p.appendChild(document.createTextNode((typed.length ? " " : "") + "No report uses the word" +
        (missing.length > 1 ? "s " : " ") + missing.map(function (w) { return "\u201c" + w + "\u201d"; }).join(", ") + "."));
    }
    return p;
  }

  function renderAnswer(result, prefix, opts) {
    var frag = document.createDocumentFragment();
    var passages = Array.isArray(result.passages) ? result.passages : [];
    var note = searchNote(result);
    if (note) frag.appendChild(note);
    var ranks = passages.map(function (p) { return p.rank; });
    if (result.status === "answered" && result.answer) {
      var cited = [];
      var p = el("p", { class: "answer-text" });
      answerSegments(String(result.answer)).forEach(function (seg) {
        if (!seg.cites.length) { p.appendChild(document.createTextNode(seg.text)); return; }
        seg.cites.forEach(function (c) {
          if (ranks.indexOf(c) === -1) { p.appendChild(document.createTextNode("[" + c + "]")); return; }
          if (cited.indexOf(c) === -1) cited.push(c);
          p.appendChild(el("a", { class: "cite", href: "#" + prefix + "-c" + c },
            [visuallyHidden("source "), "[" + c + "]"]));
        });
      });
      frag.appendChild(el("div", { class: "answer" }, [p]));
      frag.appendChild(el("h3", { class: "sources-heading" }, ["Sources"]));
      frag.appendChild(citationList(passages.filter(function (x) { return cited.indexOf(x.rank) !== -1; }),
        prefix, opts));
      var others = passages.filter(function (x) { return cited.indexOf(x.rank) === -1; });
      if (others.length) {
        frag.appendChild(el("details", { class: "others" }, [
          el("summary", null, ["Other passages looked at (" + others.length + ")"]),
          citationList(others, prefix, opts)
        ]));
      }
    } else {
      var box = el("div", { class: "not-found" }, [
        el("p", { class: "not-found-title" }, [el("strong", null, ["Not found in these reports."])])
      ]);
      if (passages.length) {
        box.appendChild(el("p", null, ["The reports do not answer this question. " +
          "These are the closest sections that were looked in:"]));
        box.appendChild(citationList(passages, prefix, opts, "looked-in"));
      } else {
        box.appendChild(el("p", null, ["No passage of the reports comes close to this question."]));
      }
      frag.appendChild(box);
    }
    return frag;
  }

  /* note: the filters the answer was limited to ("Ofsted, from 2024"), or "" */
  function renderTurn(number, question, result, opts, note) {
    var art = el("article", { class: "turn", id: "turn-" + number, "data-question": question,
      "aria-labelledby": "turn-" + number + "-q" }, [
      el("h2", { class: "question", id: "turn-" + number + "-q" }, [visuallyHidden("Question: "), question])
    ]);
    if (note) {
      art.appendChild(el("p", { class: "filter-note" }, [el("span", { class: "filter-note-label" }, ["Only:"]),
        " " + note]));
    }
    art.appendChild(renderAnswer(result, "t" + number, opts));
    return art;
  }

  function errorMessage(status, body, headers) {
    if (status === 429) {
      var wait = headers && headers.get("Retry-After");
      return "Too many questions in a short time. Please try again" +
        (wait && /^\d+$/.test(wait) ? " in " + wait + " seconds." : " in a moment.");
    }
    if (body && body.error && body.error.code === "invalid_date") {
      return "Write the years of the filter like 2024 (or a month like 2024-03, or a day like 2024-03-08).";
    }
    if (body && body.error && typeof body.error.message === "string") {
      var m = body.error.message;
      return m.charAt(0).toUpperCase() + m.slice(1) + (/[.!?]$/.test(m) ? "" : ".");
    }
    return "Something went wrong (" + status + "). Please try again.";
  }

  var FILTER_NAMES = ["publisher", "date_from", "date_to"];

  /* The filters of the form's "Filter reports" disclosure, shaped as /api/ask wants them:
   * {publisher, date_from, date_to, doc (an id, or a list of ids)}; null when none is set. */
  function readFilters(form) {
    if (!form.querySelector("#filters")) return null;
    var data = new FormData(form);
    var out = {};
    FILTER_NAMES.forEach(function (name) {
      var value = String(data.get(name) || "").trim();
      if (value) out[name] = value;
    });
    var docs = data.getAll("doc").map(String).filter(Boolean);
    if (docs.length === 1) out.doc = docs[0];
    else if (docs.length > 1) out.doc = docs;
    return Object.keys(out).length ? out : null;
  }

  /* "Ofsted, from 2024" - the same wording as filter_summary in qa/web/chat.py. */
  function filterText(form, f) {
    if (!f) return "";
    var bits = [];
    if (Array.isArray(f.doc)) {
      bits.push(f.doc.length + " reports");
    } else if (f.doc) {
      var title = f.doc;
      var select = form.querySelector("select[name=doc]");
      Array.prototype.forEach.call(select ? select.options : [], function (o) {
        if (o.value === f.doc) title = o.textContent;
      });
      bits.push(title);
    }
    if (f.publisher) bits.push(f.publisher);
    if (f.date_from && f.date_to) {
      bits.push(f.date_from === f.date_to ? "in " + f.date_from : "from " + f.date_from + " to " + f.date_to);
    } else if (f.date_from) {
      bits.push("from " + f.date_from);
    } else if (f.date_to) {
      bits.push("up to " + f.date_to);
    }
    return bits.join(", ");
  }

  function appendFilters(params, f) {
    if (!f) return;
    if (f.publisher) params.append("publisher", f.publisher);
    if (f.date_from) params.append("date_from", f.date_from);
    if (f.date_to) params.append("date_to", f.date_to);
    [].concat(f.doc || []).forEach(function (d) { params.append("doc", d); });
  }

  /* The chat controller: progressive enhancement of the plain GET form. */
  function mountChat(opts) {
    var form = document.getElementById("ask-form");
    if (!form || !window.fetch) return null;
    var input = document.getElementById("q");
    var button = document.getElementById("ask-button");
    var status = document.getElementById("status");
    var conversation = document.getElementById("conversation");
    var empty = document.getElementById("empty-state");
    var newConv = document.getElementById("new-conversation");
    var historyFields = document.getElementById("history-fields");
    var api = form.getAttribute("data-api");
    var home = form.getAttribute("data-home");
    var maxHistory = parseInt(form.getAttribute("data-max-history"), 10) || 10;
    var render = { docBase: form.getAttribute("data-doc-base"), newTab: !!opts.newTab };
    var announcer = document.getElementById("announcer");
    if (!announcer) {
      announcer = el("div", { class: "visually-hidden", "aria-live": "polite", id: "announcer" });
      document.body.appendChild(announcer);
    }
    var questions = Array.prototype.map.call(conversation.querySelectorAll("article.turn"), function (a) {
      return a.getAttribute("data-question") || "";
    });
    var turnCount = questions.length;
    var busy = false;
    var filterBox = document.getElementById("filters");
    var filterSummary = document.getElementById("filter-summary");
    var clearFilters = document.getElementById("clear-filters");
    var sentFilters = readFilters(form);  // the filters of the conversation on the page (its URL)

    function showFilters() {
      if (!filterBox) return;
      var f = readFilters(form) || {};
      Array.prototype.forEach.call(filterBox.querySelectorAll("input"), function (i) {
        if (!i.validity.valid) delete f[i.name];  // a half-typed year is not a filter yet
      });
      var text = filterText(form, Object.keys(f).length ? f : null);
      if (filterSummary) {
        filterSummary.textContent = text ? "Only: " + text : "";
        filterSummary.hidden = !text;
      }
      if (clearFilters) clearFilters.hidden = !text;
    }

    /* An invalid filter (a year like "24") is shown on its field, and nothing is asked. */
    function checkFilters() {
      if (!filterBox) return true;
      var bad = Array.prototype.filter.call(filterBox.querySelectorAll("input, select"), function (x) {
        return !x.checkValidity();
      })[0];
      if (!bad) return true;
      filterBox.open = true;
      setStatus("Write the years of the filter like 2024.", true);
      bad.focus();
      if (bad.reportValidity) bad.reportValidity();
      return false;
    }

    function setStatus(text, isError) {
      status.textContent = text || "";
      status.classList.toggle("is-error", !!isError);
    }

    function shareUrl() {
      var params = new URLSearchParams();
      if (questions.length) {
        params.append("q", questions[questions.length - 1]);
        questions.slice(0, -1).slice(-maxHistory).forEach(function (h) { params.append("h", h); });
      }
      appendFilters(params, sentFilters);
      var query = params.toString();
      return query ? home + "?" + query : home;
    }

    function syncHistoryFields() {
      historyFields.textContent = "";
      questions.slice(-maxHistory).forEach(function (h) {
        historyFields.appendChild(el("input", { type: "hidden", name: "h", value: h }));
      });
      if (newConv) newConv.hidden = opts.hideNewWhenEmpty ? !questions.length : false;
      var hint = document.getElementById("follow-up-hint");
      if (hint) hint.hidden = !questions.length;
    }

    function setBusy(on) {
      busy = on;
      button.textContent = on ? "Asking\u2026" : "Ask";
      button.setAttribute("aria-disabled", on ? "true" : "false");
      form.classList.toggle("is-busy", on);
      conversation.setAttribute("aria-busy", on ? "true" : "false");
    }

    function ask(question) {
      question = (question || "").replace(/\s+/g, " ").trim();
      if (!question) {
        setStatus("Type a question first.", true);
        input.focus();
        return;
      }
      if (busy) return;
      if (!checkFilters()) return;
      setBusy(true);
      setStatus("Searching the reports\u2026");
      var filters = readFilters(form);
      var body = { question: question, history: questions.slice(-maxHistory) };
      if (filters) body.filters = filters;
      fetch(api, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "Accept": "application/json" },
        body: JSON.stringify(body)
      }).then(function (resp) {
        return resp.json().catch(function () { return null; }).then(function (data) {
          if (!resp.ok || !data || data.error) {
            setStatus(errorMessage(resp.status, data, resp.headers), true);
            return;
          }
          questions.push(question);
          turnCount += 1;
          sentFilters = filters;
          if (empty) empty.hidden = true;
          var turn = renderTurn(turnCount, question, data, render, filterText(form, filters));
          conversation.appendChild(turn);
          input.value = "";
          syncHistoryFields();
          setStatus("");
          announcer.textContent = data.status === "answered" && data.answer
            ? "Answer: " + String(data.answer).replace(MARKER, "")
            : "Not found in these reports.";
          if (opts.pushState && window.history && history.pushState) {
            history.pushState({ qa: true }, "", shareUrl());
          }
          if (turn.scrollIntoView) turn.scrollIntoView({ block: "start", behavior: "smooth" });
        });
      }).catch(function () {
        setStatus("The answer service could not be reached. Check your connection and try again.", true);
      }).then(function () {
        setBusy(false);
        input.focus({ preventScroll: true });
      });
    }

    function reset() {
      questions = [];
      turnCount = 0;
      conversation.textContent = "";
      if (empty) empty.hidden = false;
      input.value = "";
      syncHistoryFields();
      setStatus("New conversation started.");
      sentFilters = readFilters(form);  // the filters stay set for the next conversation
      if (opts.pushState && window.history && history.pushState) history.pushState({ qa: true }, "", shareUrl());
      input.focus();
    }

    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      ask(input.value);
    });
    document.addEventListener("click", function (ev) {
      var t = ev.target;
      if (!(t instanceof Element)) return;
      var example = t.closest("a.example");
      if (example) {
        ev.preventDefault();
        input.value = example.getAttribute("data-question") || example.textContent;
        ask(input.value);
        return;
      }
      var cite = t.closest("a.cite");
      if (cite) {
        var card = document.getElementById(cite.getAttribute("href").slice(1));
        if (card) {
          ev.preventDefault();
          var details = card.closest("details");
          if (details) details.open = true;
          card.scrollIntoView({ block: "nearest", behavior: "smooth" });
          card.focus({ preventScroll: true });
          card.classList.remove("flash");
          void card.offsetWidth;
          card.classList.add("flash");
        }
      }
    });
    if (filterBox) {
      filterBox.addEventListener("change", showFilters);
      filterBox.addEventListener("input", showFilters);
      // the browser's own check of the year fields (on Enter): open the disclosure so it can point there
      filterBox.addEventListener("invalid", function () {
        filterBox.open = true;
        setStatus("Write the years of the filter like 2024.", true);
      }, true);
    }
    if (clearFilters) {
      clearFilters.addEventListener("click", function () {
        Array.prototype.forEach.call(filterBox.querySelectorAll("select"), function (s) {
          s.multiple = false;
          s.removeAttribute("size");
          s.value = "";
        });
        Array.prototype.forEach.call(filterBox.querySelectorAll("input"), function (i) {
          i.value = "";
          i.removeAttribute("aria-invalid");
        });
        showFilters();
        setStatus("Filters cleared: the next answer uses every report.");
        filterBox.querySelector("select, input").focus();
      });
    }
    if (newConv) {
      newConv.addEventListener("click", function (ev) {
        ev.preventDefault();
        reset();
      });
    }
    if (opts.pushState) {
      window.addEventListener("popstate", function () { window.location.reload(); });
    }
    syncHistoryFields();
    showFilters();
    // A filtered conversation comes without autofocus: on a small screen its open filters unstick
    // the composer, and autofocus would scroll past the answers to it. Focus it without scrolling.
    if (questions.length && (!document.activeElement || document.activeElement === document.body)) {
      input.focus({ preventScroll: true });
    }
    return { ask: ask, reset: reset };
  }

  /* Printing shows every passage, also the folded "other passages". */
  window.addEventListener("beforeprint", function () {
    Array.prototype.forEach.call(document.querySelectorAll("details.others"), function (d) { d.open = true; });
  });

  window.QA = {
    highlight: highlight,
    answerSegments: answerSegments,
    renderTurn: renderTurn,
    readFilters: readFilters,
    filterText: filterText,
    mountChat: mountChat
  };
})();
