/* The compact chat meant for an <iframe>: answers in place, links open in a new tab,
   the address of the frame never changes. */
(function () {
  "use strict";
  if (!window.QA) return;
  window.QA.chat = window.QA.mountChat({ pushState: false, newTab: true, hideNewWhenEmpty: true });
})();
