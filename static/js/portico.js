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

  // Fields that apply only to some values of another field (JIT access: GitLab-only and Kubernetes-only fields)
  // show only when they apply. Without this script they all show, and their labels say which system they are for.
  function conditionalFields() {
    var blocks = document.querySelectorAll("[data-shown-when]");
    if (!blocks.length) return;
    function sync() {
      blocks.forEach(function (block) {
        var controller = document.querySelector('[name="' + block.getAttribute("data-shown-when") + '"]');
        var values = block.getAttribute("data-shown-values").split(" ");
        block.hidden = !controller || values.indexOf(controller.value) === -1;
      });
    }
    document.addEventListener("change", sync);
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

  // The needed-by check depends on the priority and environment too: ask it to re-check when either changes.
  // Only those fields trigger it (not every keystroke in the form), and htmx debounces the request.
  var NEEDED_BY_INPUTS = ["priority", "environment"];
  function neededByRecheck() {
    document.addEventListener("change", function (event) {
      var target = event.target;
      if (!target || NEEDED_BY_INPUTS.indexOf(target.name) === -1) return;
      var slot = document.getElementById("field-needed_by");
      if (slot && window.htmx) window.htmx.trigger(slot, "portico:recheck");
    });
  }

  // Destructive actions (cancel, reject, deny, revoke) ask first in a dialog that says what will happen. Without
  // this script the server asks instead, on a confirmation page: the form posts without `confirmed`.
  function confirmations() {
    var dialog = null;
    var pending = null;
    function build() {
      dialog = document.createElement("dialog");
      dialog.className = "confirm-dialog";
      dialog.setAttribute("aria-labelledby", "confirm-dialog-title");
      dialog.innerHTML =
        '<h2 id="confirm-dialog-title"></h2><p class="confirm-dialog__text"></p>' +
        '<div class="form-actions"><button type="button" class="button button--danger" data-confirm-yes></button>' +
        '<button type="button" class="button button--quiet" data-confirm-no>Go back</button></div>';
      document.body.appendChild(dialog);
      dialog.querySelector("[data-confirm-no]").addEventListener("click", function () { dialog.close(); });
      dialog.querySelector("[data-confirm-yes]").addEventListener("click", function () {
        dialog.close();
        if (!pending) return;
        var flag = pending.querySelector('input[name="confirmed"]');
        if (flag) flag.value = "yes";
        pending.submit();
      });
    }
    document.addEventListener("submit", function (event) {
      var form = event.target;
      if (!form.hasAttribute || !form.hasAttribute("data-confirm")) return;
      var flag = form.querySelector('input[name="confirmed"]');
      if (flag && flag.value === "yes") return;
      if (typeof HTMLDialogElement === "undefined") return; // the server's confirmation page takes over
      event.preventDefault();
      if (!dialog) build();
      pending = form;
      dialog.querySelector("h2").textContent = form.getAttribute("data-confirm-title") || "Are you sure?";
      dialog.querySelector(".confirm-dialog__text").textContent = form.getAttribute("data-confirm");
      dialog.querySelector("[data-confirm-yes]").textContent = form.getAttribute("data-confirm-yes") || "Yes";
      dialog.showModal();
    });
  }

  // A table wider than its card scrolls inside it; a keyboard can scroll it only if it can take focus, so a
  // scroll box with nothing focusable inside becomes a named, focusable region (only while it overflows).
  function scrollRegions() {
    document.querySelectorAll(".table-scroll").forEach(function (box) {
      var overflowing = box.scrollWidth > box.clientWidth + 1;
      var focusable = box.querySelector("a[href], button, input, select, textarea, [tabindex]");
      if (overflowing && !focusable) {
        var caption = box.querySelector("caption");
        box.setAttribute("tabindex", "0");
        box.setAttribute("role", "region");
        box.setAttribute("aria-label", caption ? caption.textContent.trim() : "Table");
      } else if (!overflowing && box.getAttribute("role") === "region") {
        box.removeAttribute("tabindex");
        box.removeAttribute("role");
        box.removeAttribute("aria-label");
      }
    });
  }

  // The desk's lists: "/" searches, j/k move a visible focus through the rows, Enter opens, x ticks, "?" shows
  // the keys. Listeners sit on the document, so lists swapped in by htmx keep working.
  function typing(target) {
    var tag = target && target.tagName;
    return tag === "INPUT" || tag === "SELECT" || tag === "TEXTAREA" || (target && target.isContentEditable);
  }

  function listRows() {
    return Array.prototype.slice.call(document.querySelectorAll("[data-keyboard-list] tr[data-row]"));
  }

  function moveFocus(step) {
    var rows = listRows();
    if (!rows.length) return;
    var current = rows.indexOf(document.querySelector("tr[data-row].is-focused"));
    var next = current === -1 ? (step > 0 ? 0 : rows.length - 1) : Math.min(rows.length - 1, Math.max(0, current + step));
    rows.forEach(function (row) { row.classList.remove("is-focused"); row.removeAttribute("aria-current"); });
    var row = rows[next];
    row.classList.add("is-focused");
    row.setAttribute("aria-current", "true");
    if (!row.hasAttribute("tabindex")) row.setAttribute("tabindex", "-1");
    row.focus();
  }

  function deskKeys() {
    document.addEventListener("keydown", function (event) {
      if (event.ctrlKey || event.metaKey || event.altKey) return;
      if (typing(event.target)) {
        if (event.key === "Escape") event.target.blur();
        return;
      }
      var search = document.querySelector("[data-search-box]");
      var dialog = document.getElementById("keys-dialog");
      if (event.key === "/" && search) {
        event.preventDefault();
        search.focus();
        search.select();
      } else if (event.key === "j" || event.key === "k") {
        if (!listRows().length) return;
        event.preventDefault();
        moveFocus(event.key === "j" ? 1 : -1);
      } else if (event.key === "Enter") {
        var focused = document.querySelector("tr[data-row].is-focused");
        if (!focused || event.target !== focused) return;
        var link = focused.querySelector("a[href]");
        if (link) { event.preventDefault(); window.location.assign(link.href); }
      } else if (event.key === "x") {
        var row = document.querySelector("tr[data-row].is-focused");
        var box = row && row.querySelector('input[type="checkbox"]');
        if (box) { event.preventDefault(); box.checked = !box.checked; }
      } else if (event.key === "?" && dialog && dialog.showModal) {
        event.preventDefault();
        if (!dialog.open) dialog.showModal();
      }
    });
    // "Select all" ticks every row of the page; it is hidden without this script, which is what makes it work.
    document.addEventListener("change", function (event) {
      if (!event.target.matches || !event.target.matches("[data-select-all]")) return;
      var table = event.target.closest("table");
      table.querySelectorAll('tbody input[type="checkbox"][name="references"]').forEach(function (box) {
        box.checked = event.target.checked;
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

  // @mentions in the comment box. Typing "@" and letters asks the server for up to ten people a mention would
  // reach (an htmx partial of options) and lists them under the box. The textarea keeps its own role (HTML allows
  // none other on a textarea) and drives the list the way a combobox does: aria-autocomplete, aria-controls and
  // aria-activedescendant pointing into a role="listbox"; a status line says how many matched. Arrows move, Enter or
  // Tab or a click inserts "@username ", Escape closes. Listeners sit on the document, so a timeline swapped in by
  // htmx keeps working.
  var MENTION_TYPED = /(^|[^\w@.])@([\w.+-]{1,30})$/;

  function mentions() {
    var asked = 0; // the latest question; an answer to an older one (a slower keystroke) is dropped

    function parts(box) {
      var form = box && box.form;
      if (!form || !form.hasAttribute("data-mention-source") || box.id !== form.getAttribute("data-mention-field")) {
        return null;
      }
      var list = form.querySelector("[data-mention-list]");
      if (!list) return null;
      if (!box.hasAttribute("aria-controls")) {
        box.setAttribute("aria-autocomplete", "list");
        box.setAttribute("aria-controls", list.id);
        box.insertAdjacentElement("afterend", list); // right under the box, inside its field
      }
      return { form: form, list: list, status: form.querySelector("[data-mention-status]") };
    }

    function typed(box) {
      var match = MENTION_TYPED.exec(box.value.slice(0, box.selectionStart));
      return match ? { text: match[2], start: box.selectionStart - match[2].length - 1 } : null;
    }

    function options(p) {
      return Array.prototype.slice.call(p.list.querySelectorAll('[role="option"]'));
    }

    function close(box, p) {
      asked += 1;
      p.list.hidden = true;
      p.list.textContent = "";
      box.removeAttribute("aria-activedescendant");
      if (p.status) p.status.textContent = "";
    }

    function highlight(box, p, index) {
      var all = options(p);
      all.forEach(function (option, i) { option.setAttribute("aria-selected", i === index ? "true" : "false"); });
      if (all[index]) {
        box.setAttribute("aria-activedescendant", all[index].id);
        all[index].scrollIntoView({ block: "nearest" });
      }
    }

    function choose(box, p, option) {
      var at = typed(box);
      if (at && option) {
        var text = "@" + option.getAttribute("data-mention") + " ";
        box.value = box.value.slice(0, at.start) + text + box.value.slice(box.selectionStart);
        box.setSelectionRange(at.start + text.length, at.start + text.length);
      }
      close(box, p);
      box.focus();
    }

    function suggest(box, p) {
      var at = typed(box);
      if (!at) { close(box, p); return; }
      var mine = (asked += 1);
      var internal = p.form.querySelector('input[name="internal"]');
      var url = p.form.getAttribute("data-mention-source") + "?q=" + encodeURIComponent(at.text) +
        (internal && internal.checked ? "&internal=on" : "");
      fetch(url, { credentials: "same-origin", headers: { "HX-Request": "true" } })
        .then(function (response) { return response.ok ? response.text() : ""; })
        .then(function (html) {
          if (mine !== asked) return;
          p.list.innerHTML = html;
          var count = options(p).length;
          p.list.hidden = count === 0;
          if (p.status) {
            p.status.textContent = count ? count + (count === 1 ? " person" : " people") +
              " to mention: arrow keys to choose, Enter to insert." : "Nobody to mention by that name.";
          }
          if (count) highlight(box, p, 0); else box.removeAttribute("aria-activedescendant");
        }, function () { if (mine === asked) close(box, p); });
    }

    document.addEventListener("input", function (event) {
      var p = parts(event.target);
      if (p) suggest(event.target, p);
    });
    // Capturing, so the desk's own Escape (which leaves the box) does not run while the list is open.
    document.addEventListener("keydown", function (event) {
      var box = event.target;
      var p = parts(box);
      if (!p || p.list.hidden) return;
      var all = options(p);
      var current = all.indexOf(p.list.querySelector('[aria-selected="true"]'));
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        var step = event.key === "ArrowDown" ? 1 : -1;
        highlight(box, p, (current + step + all.length) % all.length);
      } else if ((event.key === "Enter" || event.key === "Tab") && current !== -1 && !event.shiftKey) {
        event.preventDefault();
        choose(box, p, all[current]);
      } else if (event.key === "Escape") {
        event.preventDefault();
        event.stopPropagation();
        close(box, p);
      }
    }, true);
    // mousedown would take the focus (and the caret) from the box; the click then inserts.
    document.addEventListener("mousedown", function (event) {
      if (event.target.closest && event.target.closest("[data-mention-list]")) event.preventDefault();
    });
    document.addEventListener("click", function (event) {
      var option = event.target.closest && event.target.closest('[data-mention-list] [role="option"]');
      if (!option) return;
      var form = option.closest("form");
      var box = form && document.getElementById(form.getAttribute("data-mention-field"));
      var p = parts(box);
      if (p) choose(box, p, option);
    });
    document.addEventListener("focusout", function (event) {
      var p = parts(event.target);
      if (p && !p.list.hidden) close(event.target, p);
    });
  }

  // On a phone the desk's filter selects would push the requests a screenful down: they fold away under "More
  // filters" unless one of them is set. Wider again (a phone turned), they open, as their summary is hidden there.
  var phone = window.matchMedia("(max-width: 600px)");
  function foldFilters(root) {
    root.querySelectorAll("details[data-filters-more]").forEach(function (more) {
      if (phone.matches && !more.hasAttribute("data-filters-set")) more.open = false;
    });
  }
  phone.addEventListener("change", function () {
    if (!phone.matches) document.querySelectorAll("details[data-filters-more]").forEach(function (more) { more.open = true; });
  });

  function showSelectAll(root) {
    root.querySelectorAll("[data-select-all]").forEach(function (box) { box.hidden = false; });
  }

  function enhance(root) {
    foldFilters(root);
    showSelectAll(root);
    cannedPickers(root);
    refreshCountdowns(root);
  }

  document.addEventListener("DOMContentLoaded", function () {
    enhance(document);
    automationFields();
    copyButtons();
    neededByRecheck();
    conditionalFields();
    scrollRegions();
    window.addEventListener("resize", scrollRegions);
    confirmations();
    deskKeys();
    mentions();
    var summary = document.querySelector("[data-focus-on-load]");
    if (summary) summary.focus();
    window.setInterval(function () { refreshCountdowns(document); }, 60 * 1000);
    document.body.addEventListener("htmx:afterSwap", function (event) {
      enhance(event.target);
      scrollRegions(); // a swapped-in table may now overflow its card, or no longer
    });
  });
})();
