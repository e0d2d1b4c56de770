// varuh console: progressive enhancement only; every page works without it.
// Breach clocks count down in place: a <time data-countdown datetime="…">
// shows the hours and minutes left (or how long ago it was due).
"use strict";
(function () {
  function tick() {
    var now = Date.now();
    document.querySelectorAll("time[data-countdown]").forEach(function (el) {
      var due = Date.parse(el.getAttribute("datetime"));
      if (isNaN(due)) { return; }
      var left = Math.round((due - now) / 60000);
      var sign = left < 0 ? "-" : "";
      var m = Math.abs(left);
      var text = sign + Math.floor(m / 60) + " h " + (m % 60) + " min";
      if (!el.dataset.shown) { el.dataset.shown = el.textContent; }
      el.textContent = el.dataset.shown + " (" + text + ")";
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    tick();
    setInterval(tick, 30000);
  });
})();
