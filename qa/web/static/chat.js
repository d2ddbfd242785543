/* The chat page: ask without reloading, keep a shareable /?q=...&h=... address (with the
   "Filter reports" choices as &publisher=&date_from=&date_to=&doc=, sent to /api/ask as "filters"). */
(function () {
  "use strict";
  if (!window.QA) return;
  window.QA.chat = window.QA.mountChat({ pushState: true, newTab: false, hideNewWhenEmpty: true });
})();
