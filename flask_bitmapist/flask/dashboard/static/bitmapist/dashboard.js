/* Flask-Bitmapist dashboard: small progressive enhancements, one routine per job: the
 * events filter, the answer forms (setUpForm, for every page's form), the users panel
 * (setUpUsersPanel: every number of every answer, heatmap cells included, lists its users
 * in the page's one panel) and the event pickers' suggestions (setUpEventSuggestions).
 *
 * Every page works without this file (forms are plain GET forms whose state lives in the
 * URL). Data is only ever read from the DOM or fetched from the JSON API, and written back
 * with textContent, never as HTML: event names are user data.
 */
(function () {
  "use strict";

  // -- events page: filter this page's rows as you type; Search asks the server ------
  function setUpEventFilter() {
    var input = document.getElementById("event-search");
    if (!input) return;
    var table = document.getElementById(input.getAttribute("data-filter-target"));
    var empty = document.getElementById("events-empty");
    if (!table) return;
    var rows = Array.prototype.slice.call(table.tBodies[0].rows);
    function apply() {
      var needle = input.value.trim().toLowerCase();
      var shown = 0;
      rows.forEach(function (row) {
        var match = row.getAttribute("data-name").indexOf(needle) !== -1;
        row.hidden = !match;
        if (match) shown += 1;
      });
      if (empty) empty.hidden = shown !== 0;
      var url = new URL(window.location.href);
      if (needle) url.searchParams.set("q", input.value.trim());
      else url.searchParams.delete("q");
      window.history.replaceState(null, "", url.toString());
    }
    input.addEventListener("input", apply);
  }

  // -- every answer form: blank expressions are not sent (unless the form pairs its rows
  // by position: keepBlank); display changes submit --------------------------------------
  function setUpForm(form, ready, keepBlank) {
    form.addEventListener("submit", function () {
      if (keepBlank) return;
      form.querySelectorAll("input.expression").forEach(function (input) {
        if (!input.value.trim()) input.disabled = true;
      });
    });
    // The back button may restore a page whose fields we disabled.
    window.addEventListener("pageshow", function () {
      form.querySelectorAll("[disabled]").forEach(function (el) { el.disabled = false; });
    });
    form.querySelectorAll("[data-autosubmit]").forEach(function (el) {
      el.addEventListener("change", function () {
        if (ready()) form.requestSubmit();
      });
    });
  }

  // Every page's form (data-answer-form): the cohort's with its conditions; the others
  // submit on a display change once an expression or an event is there. The funnel's
  // step rows pair each event with its expression by position, so all of them are sent.
  function setUpAnswerForms() {
    document.querySelectorAll("form[data-answer-form]").forEach(function (form) {
      if (form.id === "cohort-form") {
        setUpCohortConditions(form);
        setUpForm(form, function () {
          return form.querySelector("#primary").value || form.querySelector("#primary_expression").value;
        });
        return;
      }
      setUpForm(form, function () {
        return Array.prototype.some.call(form.querySelectorAll("input.expression, input.event-picker"), function (input) {
          return input.value.trim() !== "";
        });
      }, form.querySelector(".step-row") !== null);
    });
  }

  // -- cohort form: add/remove conditions ----------------------------------------------
  function setUpCohortConditions(form) {
    var list = document.getElementById("conditions");
    var template = document.getElementById("condition-template");
    var add = document.getElementById("add-condition");

    // Without JavaScript one blank row lets people add a condition per submit; with it,
    // the button adds rows on demand, so the blank row goes away.
    Array.prototype.slice.call(list.querySelectorAll(".condition.blank")).forEach(function (row) {
      row.remove();
    });
    add.hidden = false;
    add.addEventListener("click", function () {
      var row = template.content.firstElementChild.cloneNode(true);
      list.appendChild(row);
      row.querySelector("[name=additional]").focus();
    });
    list.addEventListener("click", function (event) {
      var button = event.target.closest("[data-action=remove-condition]");
      if (button) button.closest(".condition").remove();
    });
    // Keep the URL tidy: conditions without an event are not sent.
    form.addEventListener("submit", function () {
      Array.prototype.slice.call(list.querySelectorAll(".condition")).forEach(function (row) {
        if (!row.querySelector("[name=additional]").value.trim()) {
          row.querySelectorAll("select, input").forEach(function (s) { s.disabled = true; });
        }
      });
    });
  }

  // -- every answer: click a number to list its users, a page at a time ----------------
  // A number names its users' URL in data-users-url; a heatmap cell by its data-row and
  // data-col under the table's data-cell-url (one URL per table, not per cell).
  function usersUrl(target) {
    var own = target.getAttribute("data-users-url");
    if (own) return own;
    var table = target.closest("[data-cell-url]");
    return table.getAttribute("data-cell-url") +
      "&row=" + encodeURIComponent(target.getAttribute("data-row")) +
      "&col=" + encodeURIComponent(target.getAttribute("data-col"));
  }

  function setUpUsersPanel() {
    var panel = document.getElementById("users-panel");
    var result = document.getElementById("result");
    if (!panel || !result) return;
    // The answer's numbers, and those of its breakdown's blocks under it.
    var area = result.closest("main") || result;
    var title = document.getElementById("users-title");
    var summary = document.getElementById("users-summary");
    var ids = document.getElementById("users-ids");
    var pageLabel = document.getElementById("users-page");
    var prev = panel.querySelector("[data-action=users-prev]");
    var next = panel.querySelector("[data-action=users-next]");
    var current = null;

    function select(target) {
      area.querySelectorAll(".selected").forEach(function (el) { el.classList.remove("selected"); });
      if (target) target.classList.add("selected");
    }

    // The panel opens below the answer: bring it into view and move focus to its title,
    // so a click on a number is never answered out of sight.
    function reveal() {
      panel.scrollIntoView({ block: "nearest" });
      title.focus({ preventScroll: true });
    }

    function load(target, page) {
      var url = usersUrl(target) + "&page=" + page + "&per_page=200";
      fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then(function (response) {
          return response.json().then(function (body) { return { ok: response.ok, body: body }; });
        })
        .then(function (answer) {
          panel.hidden = false;
          ids.textContent = "";
          if (!answer.ok) {
            title.textContent = "Could not load users";
            summary.textContent = answer.body.message || "";
            prev.disabled = next.disabled = true;
            pageLabel.textContent = "";
            reveal();
            return;
          }
          var data = answer.body;
          current = { target: target, page: data.page, pages: data.pages };
          title.textContent = target.getAttribute("data-title") || target.getAttribute("title");
          summary.textContent = data.count.toLocaleString("en") +
            (data.ids_mapped ? " user ids, in the order first seen" : " user ids, ascending");
          data.user_ids.forEach(function (id) {
            var li = document.createElement("li");
            li.textContent = String(id);
            ids.appendChild(li);
          });
          pageLabel.textContent = "Page " + data.page + " of " + data.pages;
          prev.disabled = data.page <= 1;
          next.disabled = data.page >= data.pages;
          reveal();
        });
    }

    area.addEventListener("click", function (event) {
      var target = event.target.closest("[data-users-url], [data-cell-url] td.cell.has-users");
      if (!target) return;
      select(target);
      load(target, 1);
    });
    prev.addEventListener("click", function () { if (current) load(current.target, current.page - 1); });
    next.addEventListener("click", function () { if (current) load(current.target, current.page + 1); });
    panel.querySelector("[data-action=close-users]").addEventListener("click", function () {
      panel.hidden = true;
      if (current && current.target.focus) current.target.focus({ preventScroll: false });
      select(null);
    });
    setUpSaveAsCohort(function () { return current && usersUrl(current.target); });
  }

  // "Save as cohort": POST the panel's drill-down URL to /api/saved-cohorts (JSON, which a
  // cross-site form cannot send); every user of the drill-down is saved, not the page.
  function setUpSaveAsCohort(drillDownUrl) {
    var form = document.getElementById("users-save");
    if (!form) return;
    var status = document.getElementById("users-save-status");
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var from = drillDownUrl();
      if (!from) return;
      var name = form.querySelector("[name=name]").value.trim();
      fetch(form.getAttribute("data-save-url"), {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        credentials: "same-origin",
        body: JSON.stringify({ name: name, from: from })
      })
        .then(function (response) {
          return response.json().then(function (body) { return { ok: response.ok, body: body }; });
        })
        .then(function (answer) {
          status.textContent = answer.ok
            ? "Saved " + answer.body.count.toLocaleString("en") + " users as " + answer.body.name +
              ": use it as a segment"
            : answer.body.message || "Could not save";
        })
        .catch(function () { status.textContent = "Could not save"; });
    });
  }

  // -- event pickers: suggestions from /api/events/names as you type -----------------
  // One datalist per page; each input with data-suggest-url fills it for the text being
  // typed (for an expression, the term after the last operator), a short pause after the
  // last key, so that a page never has to list every event.
  function setUpEventSuggestions() {
    var list = document.getElementById("event-suggestions");
    var inputs = document.querySelectorAll("input[data-suggest-url]");
    if (!list || !inputs.length) return;
    var timer = null;
    var asked = null;

    function split(input) {
      var text = input.value;
      if (input.getAttribute("data-suggest") !== "expression") return { head: "", term: text.trim() };
      var cut = Math.max(text.lastIndexOf("&"), text.lastIndexOf("|"), text.lastIndexOf("~"), text.lastIndexOf("("));
      var head = text.slice(0, cut + 1);
      var rest = text.slice(cut + 1);
      var spaces = rest.match(/^\s*/)[0];
      return { head: head + spaces, term: rest.slice(spaces.length).replace(/^"/, "") };
    }

    function shown(name, expression) {
      // In an expression a name with a space or an operator is quoted.
      if (!expression || /^[^\s&|~()"]+$/.test(name)) return name;
      return '"' + name.replace(/"/g, '\\"') + '"';
    }

    function suggest(input) {
      var parts = split(input);
      var key = input.getAttribute("data-suggest") + "\u0000" + parts.head + "\u0000" + parts.term;
      if (key === asked) return;
      asked = key;
      var url = input.getAttribute("data-suggest-url") + "?limit=20&q=" + encodeURIComponent(parts.term);
      fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then(function (response) { return response.ok ? response.json() : { names: [] }; })
        .then(function (data) {
          if (key !== asked) return; // a later key press asked again
          list.textContent = "";
          var expression = input.getAttribute("data-suggest") === "expression";
          data.names.forEach(function (name) {
            var option = document.createElement("option");
            option.value = parts.head + shown(name, expression);
            list.appendChild(option);
          });
        })
        .catch(function () { asked = null; });
    }

    function schedule(event) {
      var input = event.target.closest("input[data-suggest-url]");
      if (!input) return;
      window.clearTimeout(timer);
      timer = window.setTimeout(function () { suggest(input); }, 150);
    }
    // Delegated, so that condition rows added later get suggestions too.
    document.addEventListener("input", schedule);
    document.addEventListener("focusin", schedule);
  }

  document.addEventListener("DOMContentLoaded", function () {
    setUpEventFilter();
    setUpAnswerForms();
    setUpUsersPanel();
    setUpEventSuggestions();
  });
})();
