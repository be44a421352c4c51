// PTL Status Engine: the little the pages do with JavaScript. Everything works without it.
// - A warning two minutes before the session's idle timeout (body[data-idle-secs]).
// - A confirmation before forms marked data-confirm are sent.
// - A submit button is disabled once its form is sent (the idempotency key makes a second
//   submission harmless anyway).
(function () {
  "use strict";
  var idle = parseInt(document.body.getAttribute("data-idle-secs") || "0", 10);
  var warning = document.getElementById("idle-warning");
  if (idle > 0 && warning) {
    var lead = Math.min(120, Math.floor(idle / 2));
    window.setTimeout(function () { warning.hidden = false; }, (idle - lead) * 1000);
  }
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
      return;
    }
    var buttons = form.querySelectorAll("button[type=submit]");
    window.setTimeout(function () {
      for (var i = 0; i < buttons.length; i++) { buttons[i].disabled = true; }
    }, 0);
  });
  var print = document.querySelectorAll("[data-print]");
  for (var j = 0; j < print.length; j++) {
    print[j].addEventListener("click", function (e) { e.preventDefault(); window.print(); });
  }
})();
