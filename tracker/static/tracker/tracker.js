// Critical result tracker: small progressive enhancements. No inline scripts (CSP: script-src 'self').
// The server renders every countdown correctly; this only keeps them ticking between refreshes.
(function () {
  "use strict";

  // Mirrors tracker/templatetags/clinical.py: duration_text() and countdown_text().
  function durationText(seconds) {
    var minutes = Math.floor(Math.abs(seconds) / 60);
    if (minutes < 60) return minutes + " min";
    var hours = Math.floor(minutes / 60);
    minutes = minutes % 60;
    if (hours < 48) return minutes ? hours + " h " + minutes + " min" : hours + " h";
    var days = Math.floor(hours / 24);
    hours = hours % 24;
    return hours ? days + " d " + hours + " h" : days + " d";
  }

  function countdownText(seconds) {
    if (seconds >= 0) {
      return seconds < 60 ? "less than 1 min left" : durationText(seconds) + " left";
    }
    return seconds > -60 ? "overdue by less than 1 min" : "overdue by " + durationText(seconds);
  }

  // The badge beside a countdown that has passed zero says overdue too (never "On track" or
  // "Due soon" beside "overdue by ...").
  function markOverdue(box) {
    if (!box || !box.dataset.overdueLabel || box.classList.contains("deadline-overdue")) return;
    Array.prototype.slice.call(box.classList).forEach(function (name) {
      if (name.indexOf("deadline-") === 0) box.classList.remove(name);
    });
    box.classList.add("deadline-overdue");
    var badge = box.querySelector(".badge");
    if (badge) {
      badge.className = "badge text-bg-danger";
      badge.textContent = "\u26a0 " + box.dataset.overdueLabel;
    }
    var row = box.closest("tr[data-finding]");
    if (row) row.classList.add("row-overdue");
  }

  function tick() {
    var now = Date.now();
    document.querySelectorAll(".countdown[data-seconds]").forEach(function (el) {
      if (!el.dataset.shownAt) el.dataset.shownAt = String(now);
      var elapsed = (now - Number(el.dataset.shownAt)) / 1000;
      var seconds = Number(el.dataset.seconds) - elapsed;
      el.textContent = countdownText(seconds);
      if (seconds < 0) {
        el.classList.add("text-danger");
        markOverdue(el.closest(".deadline"));
      }
    });
  }

  function copy(button) {
    var target = document.querySelector(button.dataset.copyTarget);
    if (!target) return;
    var text = target.textContent.trim();
    var status = button.parentElement.querySelector(".copy-status");
    function done(message) {
      if (status) status.textContent = message;
    }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(
        function () { done("Copied."); },
        function () { selectText(target); done("Selected: press Ctrl+C to copy."); }
      );
    } else {
      selectText(target);
      var ok = false;
      try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
      done(ok ? "Copied." : "Selected: press Ctrl+C to copy.");
    }
  }

  function selectText(el) {
    var range = document.createRange();
    range.selectNodeContents(el);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy-target]");
    if (button) copy(button);
  });

  document.addEventListener("keydown", function (event) {
    var field = event.target.closest && event.target.closest("[data-enter-moves-to]");
    if (!field || event.key !== "Enter") return;
    var next = document.getElementById(field.dataset.enterMovesTo);
    if (!next) return;
    event.preventDefault();
    field.dispatchEvent(new Event("change", { bubbles: true }));
    next.focus();
  });

  document.addEventListener("DOMContentLoaded", function () {
    tick();
    window.setInterval(tick, 15000);
  });
  // Signed out meanwhile (e.g. the inactivity logoff): a refresh that lands on the sign-in page
  // reloads the whole page rather than showing the sign-in form inside the worklist.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var loginUrl = document.body.dataset.loginUrl;
    var xhr = event.detail.xhr;
    if (loginUrl && xhr && xhr.responseURL && new URL(xhr.responseURL).pathname === loginUrl) {
      event.detail.shouldSwap = false;
      window.location.reload();
    }
  });

  // Flag form: the accession lookup redraws only the exam summary. The new-exam fields stay in
  // the page; they are shown for an unknown accession, and hidden again only when nobody is in
  // them and nothing has been typed there (a keystroke or a value is never thrown away).
  function fieldsInUse(container) {
    if (container.contains(document.activeElement)) return true;
    return Array.prototype.some.call(
      container.querySelectorAll("input, select, textarea"),
      function (field) {
        if (field.type === "radio" || field.type === "checkbox") return field.checked;
        return field.value !== "";
      }
    );
  }

  function showNewExamFields() {
    var fieldset = document.getElementById("new-exam");
    var summary = document.querySelector("#exam-summary [data-exam-known]");
    if (!fieldset || !summary) return;
    if (summary.dataset.examKnown === "false" || fieldsInUse(fieldset)) {
      fieldset.hidden = false;
    } else {
      fieldset.hidden = true;
    }
  }

  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.target && event.detail.target.id === "exam-summary") showNewExamFields();
  });

  // A form sent after the inactivity sign-out: the server kept what was typed and hands it
  // back here, after signing in, on the form's own page. Fill the form in; never submit it.
  function fill(form, name, values) {
    var fields = form.querySelectorAll("[name]");
    Array.prototype.forEach.call(fields, function (field) {
      if (field.name !== name || field.type === "file") return;
      if (field.type === "radio" || field.type === "checkbox") {
        field.checked = values.indexOf(field.value) !== -1;
      } else if (field.tagName === "SELECT" && field.multiple) {
        Array.prototype.forEach.call(field.options, function (option) {
          option.selected = values.indexOf(option.value) !== -1;
        });
      } else {
        field.value = values[0];
      }
      // What was put back is in view: open a folded section that holds a value.
      var folded = field.closest("details");
      if (folded && (field.checked || (field.type !== "radio" && field.type !== "checkbox" && field.type !== "hidden" && field.value))) {
        folded.open = true;
      }
    });
  }

  function restoreForm() {
    var kept = document.getElementById("restored-form");
    if (!kept) return;
    var fields = JSON.parse(kept.dataset.fields);
    var forms = Array.prototype.filter.call(document.querySelectorAll("main form"), function (f) {
      return f.method === "post" && new URL(f.action, window.location.href).pathname === kept.dataset.path;
    });
    var form = forms[0];
    if (!form) return;
    Object.keys(fields).forEach(function (name) { fill(form, name, fields[name]); });
    // Let dependent parts of the page catch up (e.g. the exam summary of the accession).
    Array.prototype.forEach.call(form.querySelectorAll("[hx-get]"), function (field) {
      if (field.value) field.dispatchEvent(new Event("change", { bubbles: true }));
    });
    var fieldset = document.getElementById("new-exam");
    if (fieldset && fieldsInUse(fieldset)) fieldset.hidden = false;
    form.dataset.restored = "true";
    // Whatever reads the form's state (e.g. the log-call verdict) sees the values put back.
    form.dispatchEvent(new Event("change", { bubbles: true }));
  }

  // Plain-words error pages: "Go back to the form" keeps what the browser still holds.
  document.addEventListener("click", function (event) {
    var link = event.target.closest("[data-go-back]");
    if (link && window.history.length > 1) {
      event.preventDefault();
      window.history.back();
    }
  });

  document.addEventListener("DOMContentLoaded", restoreForm);

  // The log-call form says, before saving, whether this contact will count for the category's
  // policy and why not. The verdicts come from the server (tracker/views/workflow.py).
  function showVerdict(form) {
    var target = document.getElementById("contact-verdict");
    if (!target) return;
    var channel = form.querySelector("input[name=channel]:checked");
    var outcome = form.querySelector("input[name=outcome]:checked");
    if (!channel || !outcome) return;
    var verdict = JSON.parse(form.dataset.verdicts)[channel.value][outcome.value];
    var span = document.createElement("span");
    span.className = verdict.counts ? "text-success" : "text-danger";
    span.textContent = verdict.counts
      ? "This contact will count as communicated."
      : "This will be recorded but will not count: " + verdict.why_not;
    target.replaceChildren(span);
  }

  document.addEventListener("change", function (event) {
    var form = event.target.closest && event.target.closest("form[data-verdicts]");
    if (form) showVerdict(form);
  });
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form[data-verdicts]").forEach(showVerdict);
  });

  // Rows swapped in by the live refresh start from their own server-rendered value.
  document.addEventListener("htmx:afterSettle", tick);
})();
