/* Portico: small progressive enhancements. Every page works without this file. */
(function () {
  "use strict";

  // Same wording as the server's `time_left` filter, so the text does not jump when the script takes over.
  function span(seconds) {
    var minutes = Math.floor(Math.abs(seconds) / 60);
    var days = Math.floor(minutes / 1440);
    minutes -= days * 1440;
    var hours = Math.floor(minutes / 60);
    minutes -= hours * 60;
    if (days) return hours ? days + " d " + hours + " h" : days + " d";
    if (hours) return minutes ? hours + " h " + minutes + " min" : hours + " h";
    if (minutes) return minutes + " min";
    return "less than a minute";
  }

  function timeLeft(seconds) {
    return seconds >= 0 ? "in " + span(seconds) : "overdue by " + span(seconds);
  }

  function refreshCountdowns(root) {
    root.querySelectorAll("[data-countdown]:not([data-paused])").forEach(function (el) {
      var due = Date.parse(el.getAttribute("data-countdown"));
      if (isNaN(due)) return;
      var seconds = Math.round((due - Date.now()) / 1000);
      el.textContent = timeLeft(seconds);
      el.classList.toggle("is-overdue", seconds < 0);
    });
  }

  // Times are rendered by the server in the viewer's chosen zone, with the zone named (portal/timefmt.py); the
  // page no longer rewrites them into the browser's zone, which put two zones side by side in one panel.

  // On the new-request form, show only the automation fields of the chosen request type.
  function automationFields() {
    var groups = document.querySelectorAll("[data-request-types]");
    if (!document.getElementById("id_request_type") || !groups.length) return;
    function sync() {
      // Looked up each time: htmx's inline check swaps the field, so the select is a new element after a change.
      var type = document.getElementById("id_request_type");
      if (!type) return;
      groups.forEach(function (group) {
        var match = group.getAttribute("data-request-types").split(" ").indexOf(type.value) !== -1;
        group.hidden = !match;
      });
      var section = document.querySelector(".automation");
      if (section) section.hidden = !Array.prototype.some.call(groups, function (g) { return !g.hidden; });
    }
    document.addEventListener("change", function (event) {
      if (event.target.id === "id_request_type") sync();
    });
    sync();
  }

  // "Copy" buttons (hidden until this script shows them) copy the text of the element they name.
  function copyButtons() {
    document.querySelectorAll("button[data-copy]").forEach(function (button) {
      var id = button.getAttribute("data-copy");
      var source = document.getElementById(id);
      var status = document.querySelector('[data-copy-status="' + id + '"]');
      if (!source || !navigator.clipboard) return;
      button.hidden = false;
      button.addEventListener("click", function () {
        navigator.clipboard.writeText(source.textContent.trim()).then(
          function () { if (status) status.textContent = "Copied."; },
          function () { if (status) status.textContent = "Could not copy: select the key and copy it by hand."; }
        );
      });
    });
  }

  function enhance(root) {
    refreshCountdowns(root);
  }

  document.addEventListener("DOMContentLoaded", function () {
    enhance(document);
    automationFields();
    copyButtons();
    var summary = document.querySelector("[data-focus-on-load]");
    if (summary) summary.focus();
    window.setInterval(function () { refreshCountdowns(document); }, 60 * 1000);
    document.body.addEventListener("htmx:afterSwap", function (event) { enhance(event.target); });
  });
})();
