/* The document viewer: bring the cited passage (#p-35) into the middle of the screen, mark it and
   give it focus, also when the fragment changes without a reload. The :target CSS rule highlights
   it even without this script. */
(function () {
  "use strict";
  function showTarget() {
    var id = window.location.hash.slice(1);
    if (!id) return;
    try { id = decodeURIComponent(id); } catch (e) { return; }
    var target = document.getElementById(id);
    if (!target || !target.classList.contains("passage")) return;
    Array.prototype.forEach.call(document.querySelectorAll(".passage.is-target"), function (p) {
      p.classList.remove("is-target");
    });
    target.classList.add("is-target");
    target.scrollIntoView({ block: "center" });
    target.focus({ preventScroll: true });
  }
  window.addEventListener("hashchange", showTarget);
  showTarget();
  // the browser's own jump to the fragment can come after this script: centre again once loaded
  window.addEventListener("load", function () { window.setTimeout(showTarget, 0); });
})();
