/* Ask the case reviews - widget for intranet pages.
 *
 *   <script src="https://HOST/PREFIX/widget.js" defer></script>
 *   <div data-qa-widget data-qa-title="Ask the case reviews"></div>
 *
 * Mounts a compact chat box into each [data-qa-widget] element, inside a shadow root so the host
 * page's styles and the widget's do not touch. It calls HOST/PREFIX/api/ask cross-origin (the host
 * page's origin must be listed in the service's QA_ALLOWED_ORIGINS). All text from questions and
 * reports is inserted as text nodes, never as markup. Self-contained: no other file is needed.
 */
(function () {
  "use strict";

  function scriptBase() {
    var s = document.currentScript;
    var src = s && s.src;
    if (!src) {
      var all = document.querySelectorAll("script[src]");
      for (var i = all.length - 1; i >= 0; i--) {
        if (/\/widget\.js(?:[?#].*)?$/.test(all[i].src)) { src = all[i].src; break; }
      }
    }
    if (!src) return null;
    return src.replace(/\/widget\.js(?:[?#].*)?$/, "");
  }

  var BASE = scriptBase();
  if (!BASE) return;
  var BASE_ORIGIN;
  try { BASE_ORIGIN = new URL(BASE).origin; } catch (e) { return; }

  var MARKER = /\[(\d{1,3}(?:\s*,\s*\d{1,3})*)\]/g;
  var MAX_HISTORY = 10;

  var CSS = [
    ":host{all:initial;display:block;contain:content;}",
    ".w{font-family:system-ui,-apple-system,'Segoe UI',Roboto,Arial,sans-serif;font-size:16px;line-height:1.5;",
    "color:#1b1b1b;background:#fff;border:1px solid #c9d0d6;border-radius:8px;padding:12px 14px;max-width:100%;}",
    ".t{font-size:17px;font-weight:700;margin:0 0 8px;color:#1d4f91;}",
    "label{display:block;font-weight:600;margin:0 0 4px;}",
    ".row{display:flex;gap:6px;}",
    "input{flex:1 1 auto;min-width:0;font:inherit;padding:8px;border:2px solid #1b1b1b;border-radius:6px;color:#1b1b1b;background:#fff;}",
    "button{font:inherit;font-weight:700;cursor:pointer;border-radius:6px;padding:8px 14px;border:2px solid #1d4f91;background:#1d4f91;color:#fff;}",
    "button.sec{background:#fff;color:#1d4f91;padding:4px 10px;font-size:14px;}",
    "button[aria-disabled=true]{background:#4a4f55;border-color:#4a4f55;}",
    ":focus-visible{outline:3px solid #ffbf47;box-shadow:0 0 0 5px #1b1b1b;}",
    "a{color:#1a4f9c;}a:focus-visible{background:#ffbf47;color:#1b1b1b;outline:none;box-shadow:0 3px 0 #1b1b1b;}",
    ".log{max-height:28em;overflow:auto;margin:8px 0 0;}",
    ".turn{border-top:1px solid #c9d0d6;padding:8px 0;}",
    ".q{font-weight:700;margin:0 0 4px;overflow-wrap:anywhere;}",
    ".a{margin:0 0 6px;overflow-wrap:anywhere;}",
    ".cite{font-weight:700;font-size:.85em;text-decoration:none;margin-left:2px;}",
    "ol{list-style:none;margin:0;padding:0;}",
    "li{border:1px solid #c9d0d6;border-radius:6px;padding:6px 8px;margin:6px 0;font-size:14px;}",
    "li:focus{outline:3px solid #ffbf47;}",
    ".meta{color:#4a4f55;margin:0 0 2px;}",
    ".txt{margin:0;border-left:3px solid #c9d0d6;padding-left:8px;overflow-wrap:anywhere;}",
    "mark{background:#ffe98a;color:#1b1b1b;}",
    ".nf{border:1px solid #b26a00;border-left-width:5px;background:#fff6e5;border-radius:6px;padding:6px 8px;}",
    ".status{min-height:1.4em;margin:6px 0 0;color:#4a4f55;font-size:14px;}",
    ".status.err{color:#b3261e;font-weight:600;}",
    ".note{margin:4px 0;color:#4a4f55;font-size:14px;font-style:italic;}",
    ".foot{display:flex;justify-content:space-between;align-items:center;gap:8px;flex-wrap:wrap;margin-top:8px;font-size:14px;}",
    ".vh{position:absolute!important;width:1px;height:1px;margin:-1px;padding:0;border:0;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap;}"
  ].join("");

  /* <mark> around the engine's highlight spans: [start, end) in code points, in order, not
   * overlapping; any other span is ignored. Text goes in as text nodes only. */
  function highlight(text, spans) {
    var frag = document.createDocumentFragment();
    var chars = Array.from(String(text || ""));
    var pos = 0;
    (Array.isArray(spans) ? spans : []).forEach(function (s) {
      if (!Array.isArray(s) || s.length !== 2 || !Number.isInteger(s[0]) || !Number.isInteger(s[1]) ||
          s[0] < pos || s[1] <= s[0] || s[1] > chars.length) return;
      frag.appendChild(document.createTextNode(chars.slice(pos, s[0]).join("")));
      frag.appendChild(el("mark", null, [chars.slice(s[0], s[1]).join("")]));
      pos = s[1];
    });
    frag.appendChild(document.createTextNode(chars.slice(pos).join("")));
    return frag;
  }

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      var v = attrs[k];
      if (v !== null && v !== undefined && v !== false) node.setAttribute(k, v === true ? "" : String(v));
    });
    (children || []).forEach(function (c) {
      if (c !== null && c !== undefined) node.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    });
    return node;
  }

  /* Only http(s) links on the service's own origin; anything else falls back to the viewer URL. */
  function passageHref(p) {
    try {
      var u = new URL(String(p.url || ""), BASE + "/");
      if ((u.protocol === "https:" || u.protocol === "http:") && u.origin === BASE_ORIGIN) return u.href;
    } catch (e) { /* fall through */ }
    return BASE + "/doc/" + encodeURIComponent(String(p.doc_id || "")) +
      (p.anchor ? "#" + encodeURIComponent(String(p.anchor)) : "");
  }

  var counter = 0;

  function mount(host) {
    if (!host || host.__qaWidget) return host && host.__qaWidget;
    var root;
    try { root = host.attachShadow({ mode: "open" }); } catch (e) { return null; }
    counter += 1;
    var uid = "qaw" + counter;
    if ("adoptedStyleSheets" in root && typeof CSSStyleSheet === "function") {
      try {
        var sheet = new CSSStyleSheet();
        sheet.replaceSync(CSS);
        root.adoptedStyleSheets = [sheet];
      } catch (e) { root.appendChild(el("style", null, [CSS])); }
    } else {
      root.appendChild(el("style", null, [CSS]));
    }
    var title = host.getAttribute("data-qa-title") || "Ask the case reviews";
    var input = el("input", { id: uid + "-q", type: "text", autocomplete: "off", maxlength: "500", required: true });
    var button = el("button", { type: "submit" }, ["Ask"]);
    var form = el("form", { role: "search", "aria-label": title }, [
      el("label", { for: uid + "-q" }, ["Your question"]),
      el("div", { class: "row" }, [input, button])
    ]);
    var status = el("p", { class: "status", role: "status", "aria-live": "polite" });
    var log = el("div", { class: "log", "aria-label": "Answers" });
    var announcer = el("div", { class: "vh", "aria-live": "polite" });
    var newConv = el("button", { type: "button", class: "sec", hidden: true }, ["New conversation"]);
    var full = el("a", { href: BASE + "/", target: "_blank", rel: "noopener" }, ["Open the full chat"]);
    var wrap = el("div", { class: "w" }, [
      el("p", { class: "t" }, [title]), form, status, log, announcer,
      el("div", { class: "foot" }, [newConv, full])
    ]);
    root.appendChild(wrap);

    var questions = [];
    var turns = 0;
    var busy = false;

    function setStatus(text, isError) {
      status.textContent = text || "";
      status.className = "status" + (isError ? " err" : "");
    }

    function card(p, prefix) {
      var href = passageHref(p);
      var bits = [p.publisher, p.date, p.section ? "Section: " + p.section : null,
        p.paragraph ? "Paragraph " + p.paragraph : null].filter(Boolean).map(String);
      var quote = el("p", { class: "txt" });
      quote.appendChild(highlight(p.text, p.highlights));
      return el("li", { id: prefix + "-c" + p.rank, tabindex: "-1" }, [
        el("p", { class: "meta" }, ["[" + p.rank + "] ",
          el("a", { href: href, target: "_blank", rel: "noopener" }, [String(p.title || p.doc_id || "Report")])]),
        el("p", { class: "meta" }, [bits.join(" \u00b7 ")]),
        quote
      ]);
    }

    /* How the question was read, as plain text (the chat page says the same). */
    function searchNote(data) {
      var search = data.search || {};
      var corrected = search.corrected || {};
      var missing = Array.isArray(search.not_in_reports) ? search.not_in_reports : [];
      var parts = [];
      if (search.needs_earlier_question === true) {
        parts.push("This reads as a follow-up to an earlier question, and there is none in this conversation: ask the whole question (which year, which children, which report).");  /* qa.answer.NEEDS_EARLIER_QUESTION */
      }
      var typed = Object.keys(corrected);
      if (typed.length) {
        parts.push("Read " + typed.map(function (t) { return "\u201c" + t + "\u201d as \u201c" + corrected[t] + "\u201d"; }).join(", ") + ".");
      }
      if (missing.length) {
        parts.push("No report uses the word" + (missing.length > 1 ? "s " : " ") +
          missing.map(function (w) { return "\u201c" + w + "\u201d"; }).join(", ") + ".");
      }
      return parts.join(" ");
    }

    function render(question, data) {
      turns += 1;
      var prefix = uid + "-t" + turns;
      var passages = Array.isArray(data.passages) ? data.passages : [];
      var ranks = passages.map(function (p) { return p.rank; });
      var turn = el("div", { class: "turn" }, [el("p", { class: "q" }, [question])]);
      var note = searchNote(data);
      if (note) turn.appendChild(el("p", { class: "note" }, [note]));
      if (data.status === "answered" && data.answer) {
        var a = el("p", { class: "a" });
        var cited = [];
        var pos = 0;
        var text = String(data.answer);
        var m;
        MARKER.lastIndex = 0;
        while ((m = MARKER.exec(text)) !== null) {
          a.appendChild(document.createTextNode(text.slice(pos, m.index)));
          m[1].split(/\s*,\s*/).map(Number).forEach(function (n) {
            if (ranks.indexOf(n) === -1) { a.appendChild(document.createTextNode("[" + n + "]")); return; }
            if (cited.indexOf(n) === -1) cited.push(n);
            var link = el("a", { class: "cite", href: "#" + prefix + "-c" + n, "data-target": prefix + "-c" + n },
              [el("span", { class: "vh" }, ["source "]), "[" + n + "]"]);
            a.appendChild(link);
          });
          pos = m.index + m[0].length;
        }
        a.appendChild(document.createTextNode(text.slice(pos)));
        turn.appendChild(a);
        var ol = el("ol", { "aria-label": "Sources" });
        passages.filter(function (p) { return cited.indexOf(p.rank) !== -1; })
          .forEach(function (p) { ol.appendChild(card(p, prefix)); });
        turn.appendChild(ol);
        announcer.textContent = "Answer: " + text.replace(MARKER, "");
      } else {
        var nf = el("div", { class: "nf" }, [el("p", { class: "q" }, ["Not found in these reports."])]);
        if (passages.length) {
          nf.appendChild(el("p", { class: "a" }, ["The closest sections that were looked in:"]));
          var list = el("ol");
          passages.forEach(function (p) { list.appendChild(card(p, prefix)); });
          nf.appendChild(list);
        }
        turn.appendChild(nf);
        announcer.textContent = "Not found in these reports." + (note ? " " + note : "");
      }
      log.appendChild(turn);
      log.scrollTop = turn.offsetTop - log.offsetTop;
    }

    function ask(question) {
      question = (question || "").replace(/\s+/g, " ").trim();
      if (!question) { setStatus("Type a question first.", true); input.focus(); return; }
      if (busy) return;
      busy = true;
      button.textContent = "Asking\u2026";
      button.setAttribute("aria-disabled", "true");
      setStatus("Searching the reports\u2026");
      fetch(BASE + "/api/ask", {
        method: "POST",
        mode: "cors",
        credentials: "omit",
        headers: { "Content-Type": "application/json", "Accept": "application/json" },
        body: JSON.stringify({ question: question, history: questions.slice(-MAX_HISTORY) })
      }).then(function (resp) {
        return resp.json().catch(function () { return null; }).then(function (data) {
          if (!resp.ok || !data || data.error) {
            var msg = resp.status === 429 ? "Too many questions in a short time. Please try again in a moment."
              : (data && data.error && data.error.message ? String(data.error.message) : "The question could not be answered.");
            setStatus(msg, true);
            return;
          }
          questions.push(question);
          render(question, data);
          input.value = "";
          newConv.hidden = false;
          setStatus("");
        });
      }).catch(function () {
        setStatus("The answer service cannot be reached from this page.", true);
        if (window.console) {
          console.warn("qa-widget: request to " + BASE + "/api/ask failed; is " + window.location.origin +
            " listed in the service's QA_ALLOWED_ORIGINS?");
        }
      }).then(function () {
        busy = false;
        button.textContent = "Ask";
        button.setAttribute("aria-disabled", "false");
        input.focus({ preventScroll: true });
      });
    }

    form.addEventListener("submit", function (ev) { ev.preventDefault(); ask(input.value); });
    log.addEventListener("click", function (ev) {
      var t = ev.target instanceof Element ? ev.target.closest("a.cite") : null;
      if (!t) return;
      var target = root.getElementById(t.getAttribute("data-target"));
      if (!target) return;
      ev.preventDefault();
      target.scrollIntoView({ block: "nearest" });
      target.focus({ preventScroll: true });
    });
    newConv.addEventListener("click", function () {
      questions = [];
      log.textContent = "";
      newConv.hidden = true;
      setStatus("New conversation started.");
      input.focus();
    });

    var api = { ask: ask, root: root };
    host.__qaWidget = api;
    host.setAttribute("data-qa-widget-ready", "");
    return api;
  }

  function mountAll() {
    Array.prototype.forEach.call(document.querySelectorAll("[data-qa-widget]"), mount);
  }

  window.QAWidget = { mount: mount, mountAll: mountAll, base: BASE };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", mountAll);
  else mountAll();
})();
