/* The chat page: ask without reloading, keep a shareable /?q=...&h=... address. */
(function () {
  "use strict";
  if (!window.QA) return;
  window.QA.chat = window.QA.mountChat({ pushState: true, newTab: false, hideNewWhenEmpty: true });
})();
