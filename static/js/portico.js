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

  // The server renders times in the portal's zone; show them in the viewer's own zone instead.
  var formats = {
    long: new Intl.DateTimeFormat(undefined, {
      weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit", timeZoneName: "short"
    }),
    short: new Intl.DateTimeFormat(undefined, { day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" })
  };

  function localTimes(root) {
    root.querySelectorAll("time[data-local-time]").forEach(function (el) {
      var when = new Date(el.getAttribute("datetime"));
      if (isNaN(when.getTime())) return;
      var format = formats[el.getAttribute("data-local-time")] || formats.long;
      el.textContent = format.format(when);
      el.title = "Your local time";
    });
  }

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

  // Canned responses: choosing one fills the comment box in place (still editable); without this script the
  // picker's "Insert" button reloads the page with ?canned=<id>, which prefills the same box on the server.
  function cannedPickers(root) {
    root.querySelectorAll("select[data-canned-target]").forEach(function (select) {
      if (select.dataset.cannedReady) return;
      select.dataset.cannedReady = "1";
      var button = select.form && select.form.querySelector("button[type=submit]");
      if (button) button.hidden = true;
      select.addEventListener("change", function () {
        var option = select.options[select.selectedIndex];
        var target = document.getElementById(select.getAttribute("data-canned-target"));
        if (!option || !option.value || !target) return;
        target.value = option.getAttribute("data-body") || "";
        target.focus();
      });
    });
  }

  function enhance(root) {
    cannedPickers(root);
    localTimes(root);
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
