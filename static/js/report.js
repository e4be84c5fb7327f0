// Status report: the "Print / save as PDF" button (no inline handlers, so a strict CSP works).
(function () {
  "use strict";
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.addEventListener("click", function () { window.print(); });
  });
})();
