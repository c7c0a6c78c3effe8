/* The Worklogs page: filter, select, assign to a budget, billable toggle, a worklog's own rate, Log time. */
(function () {
  "use strict";
  var api = W360.api, ui = W360.ui, fmt = W360.fmt, h = ui.h;
  var RATE_SOURCES = {
    worklog: "Set on this worklog",
    budget_member: "Person's rate on the budget",
    budget: "Budget rate",
    client: "Client rate",
    site_default: "Site default rate",
  };
  var state = { budgets: {}, currencies: {}, rows: [], selected: new Set(), cursor: null, query: {} };
  var $ = function (id) { return document.getElementById(id); };
  var pageStatus = $("page-status"), listStatus = $("list-status");

  function budgetName(id) {
    return state.budgets[id] ? state.budgets[id].name : "Budget " + id;
  }

  function option(value, label) { return h("option", { value: value }, label); }

  function loadChoices() {
    return Promise.all([
      api.get("/api/worklogs/facets"),
      api.get("/api/budgets", { limit: 500 }),
      api.get("/api/clients", { limit: 500 }),
    ]).then(function (answers) {
      var facets = answers[0], budgets = answers[1].items, clients = answers[2].items;
      var clientCurrency = {};
      clients.forEach(function (c) { clientCurrency[c.id] = c.currency; });
      facets.project_keys.forEach(function (key) { $("f-project").appendChild(option(key, key)); });
      facets.people.forEach(function (p) { $("f-author").appendChild(option(p.account_id, p.display_name || p.account_id)); });
      budgets.forEach(function (b) {
        state.budgets[b.id] = b;
        state.currencies[b.id] = clientCurrency[b.client_id];
        $("f-budget").appendChild(option(b.id, b.name));
        $("bulk-budget").appendChild(option(b.id, b.name + " (" + b.project_keys.join(", ") + ")"));
      });
      var preset = W360.page.param("budget_id");
      if (preset && state.budgets[preset]) $("f-budget").value = preset;
    });
  }

  function filtersQuery() {
    var form = $("filters");
    return {
      project_key: form.project_key.value,
      author: form.author.value,
      from: form.from.value,
      to: form.to.value,
      budget_id: form.budget_id.value,
      unassigned: form.unassigned.checked ? "true" : "",
    };
  }

  function applyPeriod() {
    var period = $("f-period").value, now = new Date(), from = "", to = "";
    if (period === "this-month") {
      from = fmt.isoDay(new Date(now.getFullYear(), now.getMonth(), 1));
      to = fmt.isoDay(now);
    } else if (period === "last-month") {
      from = fmt.isoDay(new Date(now.getFullYear(), now.getMonth() - 1, 1));
      to = fmt.isoDay(new Date(now.getFullYear(), now.getMonth(), 0));
    } else if (period === "last-30") {
      from = fmt.isoDay(new Date(now.getTime() - 29 * 86400000));
      to = fmt.isoDay(now);
    } else {
      return;
    }
    $("f-from").value = from;
    $("f-to").value = to;
  }

  function currencyOf(row) { return row.budget_id ? state.currencies[row.budget_id] : ""; }

  function worklogName(row) { return (row.issue_key || "worklog " + row.id) + " on " + fmt.day(row.started); }

  function rateCell(row) {
    var edit = h("button", {
      type: "button", class: "btn btn-link btn-compact rate-edit edit-only", "aria-expanded": "false",
      "aria-controls": "rate-editor-" + row.id, "aria-label": "Set rate for " + worklogName(row),
    }, "Set rate");
    edit.addEventListener("click", function () { toggleRateEditor(row, edit); });
    if (row.rate === null) {
      return h("td", { class: "numeric" },
        h("span", { class: "lozenge lozenge-moved", title: "Set a rate on the client, the budget or in Settings" }, "No rate"),
        h("span", { class: "cell-sub" }, edit));
    }
    return h("td", { class: "numeric" },
      h("span", { class: "cell-main" }, fmt.money(row.rate, currencyOf(row))),
      h("span", { class: "cell-sub" }, RATE_SOURCES[row.rate_source] || row.rate_source || ""),
      h("span", { class: "cell-sub" }, edit));
  }

  function budgetCell(row) {
    var parts = [];
    if (row.budget_id) parts.push(h("span", { class: "lozenge lozenge-inprogress" }, budgetName(row.budget_id)));
    else parts.push(h("span", { class: "lozenge" }, "Unassigned"));
    if (row.invoice_id) parts.push(" ", h("span", { class: "lozenge lozenge-success" }, "Invoiced"));
    return h("td", null, parts);
  }

  function billableCell(row) {
    var input = h("input", {
      type: "checkbox", checked: row.billable, "data-worklog": row.id,
      "aria-label": "Billable: " + (row.issue_key || "worklog " + row.id) + " on " + fmt.day(row.started),
    });
    input.addEventListener("change", function () { toggleBillable(row, input); });
    return h("td", null, h("label", { class: "toggle" }, input, h("span", { class: "track", "aria-hidden": "true" }),
      h("span", { class: "toggle-text" }, row.billable ? "Yes" : "No")));
  }

  function renderRow(row) {
    var checkbox = h("input", {
      type: "checkbox", class: "row-select", value: row.id, checked: state.selected.has(row.id),
      "aria-label": "Select " + (row.issue_key || "worklog " + row.id) + ", " + fmt.hours(row.hours) + " on " + fmt.day(row.started),
    });
    checkbox.addEventListener("change", function () {
      if (checkbox.checked) state.selected.add(row.id); else state.selected.delete(row.id);
      tr.setAttribute("aria-selected", checkbox.checked ? "true" : "false");
      updateSelection();
    });
    var tr = h("tr", { "data-worklog": row.id, "aria-selected": state.selected.has(row.id) ? "true" : "false" },
      h("td", { class: "select" }, checkbox),
      h("td", null, fmt.day(row.started)),
      h("td", null,
        h("span", { class: "cell-main" }, row.issue_key || "Issue " + row.issue_id),
        h("span", { class: "cell-sub" }, row.issue_summary || row.comment || "")),
      h("td", { class: "hide-narrow" }, row.author.display_name || row.author.account_id),
      h("td", { class: "numeric" }, fmt.hours(row.hours)),
      billableCell(row),
      rateCell(row),
      budgetCell(row));
    return tr;
  }

  function updateSelection() {
    var count = state.selected.size;
    $("selection-count").textContent = count + " selected";
    $("bulk-assign").disabled = count === 0;
    $("bulk-unassign").disabled = count === 0;
    var boxes = document.querySelectorAll(".row-select");
    var all = boxes.length > 0 && Array.prototype.every.call(boxes, function (b) { return b.checked; });
    $("select-all").checked = all;
    $("select-all").indeterminate = !all && count > 0;
  }

  function renderSummary() {
    var total = state.rows.reduce(function (sum, r) { return sum + Number(r.hours); }, 0);
    $("worklogs-summary").textContent = "Showing " + state.rows.length + " worklog" + (state.rows.length === 1 ? "" : "s") +
      " · " + fmt.hours(total.toFixed(2)) + (state.cursor ? " · more below" : "");
    var empty = $("worklogs-empty");
    ui.clear(empty);
    if (state.rows.length === 0) {
      empty.appendChild(h("div", { class: "empty" },
        h("h3", null, "No worklogs match"),
        h("p", null, "Try another period or person, or clear the filters. Time logged in Jira shows up here within a minute."),
        h("button", { type: "button", class: "btn", onclick: clearFilters }, "Clear filters")));
    }
    $("load-more").hidden = !state.cursor;
  }

  function load(append) {
    var query = Object.assign({}, state.query, { limit: 100 });
    if (append) query.cursor = state.cursor;
    else ui.loading(listStatus, "Loading worklogs…");
    return api.get("/api/worklogs", query).then(function (page) {
      ui.clear(listStatus);
      var body = $("worklogs-body");
      if (!append) { ui.clear(body); state.rows = []; }
      page.items.forEach(function (row) { state.rows.push(row); body.appendChild(renderRow(row)); });
      state.cursor = page.next_cursor;
      renderSummary();
      updateSelection();
    }).catch(function (error) { ui.showError(listStatus, error, "Worklogs could not be loaded"); });
  }

  function search() {
    state.query = filtersQuery();
    state.selected.clear();
    return load(false);
  }

  function clearFilters() {
    $("filters").reset();
    return search();
  }

  function toggleBillable(row, input) {
    var wanted = input.checked;
    input.disabled = true;
    api.patch("/api/worklogs/" + row.id, { billable: wanted }).then(function (updated) {
      row.billable = updated.billable;
      input.parentNode.querySelector(".toggle-text").textContent = updated.billable ? "Yes" : "No";
      ui.showSuccess(pageStatus, "Saved", (row.issue_key || "The worklog") + " is " + (updated.billable ? "billable" : "not billable") + " now.");
    }).catch(function (error) {
      input.checked = !wanted;
      ui.showError(pageStatus, error, "The billable flag was not changed");
    }).finally(function () { input.disabled = false; });
  }

  /* --- a worklog's own hourly rate ------------------------------------------------------------ */

  /* The editor is a row of its own under the worklog's, so messages have room to say why. */
  function toggleRateEditor(row, button) {
    var open = document.getElementById("rate-editor-" + row.id);
    if (open) { closeRateEditor(row); return; }
    var tr = button.closest("tr");
    var editor = rateEditor(row);
    tr.parentNode.insertBefore(editor, tr.nextSibling);
    button.setAttribute("aria-expanded", "true");
    editor.querySelector("input").focus();
  }

  function closeRateEditor(row) {
    var editor = document.getElementById("rate-editor-" + row.id);
    if (editor) editor.remove();
    var button = document.querySelector("#worklogs-body tr[data-worklog='" + row.id + "'] .rate-edit");
    if (button) { button.setAttribute("aria-expanded", "false"); button.focus(); }
  }

  function rateEditor(row) {
    var id = "rate-input-" + row.id, currency = currencyOf(row);
    var input = h("input", {
      type: "number", id: id, name: "rate_override", class: "num", min: "0", step: "0.01", inputmode: "decimal",
      value: row.rate_source === "worklog" ? row.rate : "", "aria-describedby": "rate-help-" + row.id,
    });
    var status = h("div", { id: "rate-status-" + row.id, "aria-live": "polite" });
    var save = h("button", { type: "submit", class: "btn btn-primary btn-compact" }, "Save rate");
    var clearButton = h("button", { type: "button", class: "btn btn-compact", hidden: row.rate_source !== "worklog" }, "Clear override");
    var cancel = h("button", { type: "button", class: "btn btn-subtle btn-compact" }, "Cancel");
    var form = h("form", { class: "toolbar", novalidate: true },
      h("div", { class: "field" },
        h("label", { for: id }, "Hourly rate for " + worklogName(row) + (currency ? " (" + currency + ")" : "")),
        input,
        h("span", { class: "help", id: "rate-help-" + row.id },
          "Beats the person's, budget's and client's rate for this worklog only. Clear it to bill at the usual rate again.")),
      h("div", { class: "button-group" }, save, clearButton, cancel));
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (input.value.trim() === "") {
        input.setAttribute("aria-invalid", "true");
        ui.message(status, "error", "Enter a rate", "Type the hourly rate for this worklog, like 95.00, or press Clear override to use the usual rate.");
        input.focus();
        return;
      }
      saveRate(row, input.value.trim(), save, status);
    });
    clearButton.addEventListener("click", function () { saveRate(row, null, clearButton, status); });
    cancel.addEventListener("click", function () { closeRateEditor(row); });
    form.addEventListener("keydown", function (e) { if (e.key === "Escape") { e.preventDefault(); closeRateEditor(row); } });
    input.addEventListener("input", function () { input.removeAttribute("aria-invalid"); });
    return h("tr", { class: "row-editor", id: "rate-editor-" + row.id },
      h("td", { colspan: "8" }, form, status));
  }

  function billsAt(row) {
    if (row.rate === null) return (row.issue_key || "The worklog") + " has no rate now.";
    return (row.issue_key || "The worklog") + " bills at " + fmt.money(row.rate, currencyOf(row)) + " an hour now (" +
      (RATE_SOURCES[row.rate_source] || row.rate_source).toLowerCase() + ").";
  }

  function saveRate(row, rate, button, status) {
    ui.clear(status);
    return ui.busy(button, rate === null ? "Clearing…" : "Saving…", function () {
      return api.patch("/api/worklogs/" + row.id, { rate_override: rate }).then(function (updated) {
        var index = state.rows.indexOf(row);
        if (index >= 0) state.rows[index] = updated;
        var old = document.querySelector("#worklogs-body tr[data-worklog='" + row.id + "']");
        closeRateEditor(row);
        if (old) {
          var fresh = renderRow(updated);
          old.replaceWith(fresh);
          fresh.querySelector(".rate-edit").focus();
        }
        ui.showSuccess(pageStatus, rate === null ? "Rate override cleared" : "Rate saved", billsAt(updated));
      }).catch(function (error) {
        if (error.code === "worklog_invoiced") {
          var box = ui.message(status, "error", "This worklog's rate is locked", error.message,
            h("p", { class: "next-step" }, "A worklog on an invoice keeps the rate it is billed at. For a draft, remove its line or delete the draft on the Invoices page, then set the rate; a finalized invoice never changes."));
          box.setAttribute("data-error-code", error.code);
          return;
        }
        ui.showError(status, error, "The rate was not saved");
      });
    });
  }

  function assign(budgetId) {
    var ids = Array.from(state.selected);
    var button = budgetId ? $("bulk-assign") : $("bulk-unassign");
    if (budgetId === "") {
      ui.message(pageStatus, "warning", "Choose a budget", "Pick the budget to assign the selected worklogs to, then press Assign again.");
      $("bulk-budget").focus();
      return;
    }
    var call = budgetId
      ? api.post("/api/worklogs/assign", { budget_id: Number(budgetId), worklog_ids: ids })
      : api.post("/api/worklogs/unassign", { worklog_ids: ids });
    return ui.busy(button, budgetId ? "Assigning…" : "Unassigning…", function () {
      return call.then(function (result) {
        var n = result.worklog_ids.length, what = n + " worklog" + (n === 1 ? "" : "s");
        var text = budgetId ? what + " assigned to " + budgetName(budgetId) + "." : what + " no longer in any budget.";
        state.selected.clear();
        return load(false).then(function () {
          ui.showSuccess(pageStatus, budgetId ? "Assigned" : "Unassigned", text);
          ui.flag("success", budgetId ? "Worklogs assigned" : "Worklogs unassigned", text);
        });
      }).catch(function (error) { ui.showError(pageStatus, error, "The worklogs were not changed"); });
    });
  }

  /* --- Log time ----------------------------------------------------------------------------- */

  function parseSpent(text) {
    var value = String(text || "").trim().toLowerCase();
    if (/^\d+([.,]\d+)?$/.test(value)) return Math.round(parseFloat(value.replace(",", ".")) * 3600);
    var match = /^(?:(\d+(?:[.,]\d+)?)\s*h)?\s*(?:(\d+)\s*m)?$/.exec(value);
    if (!match || (!match[1] && !match[2])) return 0;
    return Math.round((match[1] ? parseFloat(match[1].replace(",", ".")) * 3600 : 0) + (match[2] ? parseInt(match[2], 10) * 60 : 0));
  }

  function describeSeconds(seconds) {
    var hoursPart = Math.floor(seconds / 3600), minutes = Math.round((seconds % 3600) / 60);
    return [hoursPart ? hoursPart + "h" : "", minutes ? minutes + "m" : ""].join(" ").trim() || "0m";
  }

  function jiraStarted(dateText, timeText) {
    var local = new Date(dateText + "T" + (timeText || "09:00") + ":00");
    var offset = -local.getTimezoneOffset(), sign = offset >= 0 ? "+" : "-", abs = Math.abs(offset);
    var pad = function (n) { return String(n).padStart(2, "0"); };
    return dateText + "T" + (timeText || "09:00") + ":00.000" + sign + pad(Math.floor(abs / 60)) + pad(abs % 60);
  }

  function jiraErrorText(body) {
    try {
      var data = JSON.parse(body);
      var messages = (data.errorMessages || []).concat(Object.keys(data.errors || {}).map(function (k) { return data.errors[k]; }));
      if (messages.length) return messages.join(" ");
    } catch (e) { /* not JSON */ }
    return body || "Jira did not say why.";
  }

  function fieldError(input, text) {
    input.setAttribute("aria-invalid", "true");
    input.focus();
    ui.message($("log-status"), "error", "Check the form", text);
  }

  /* Jira tells the app about the new worklog by webhook; look for it for a little while. */
  function waitForMirror(worklogId, dateText, attemptsLeft) {
    return api.get("/api/worklogs", { from: dateText, to: dateText, limit: 500 }).then(function (page) {
      if (page.items.some(function (w) { return w.id === String(worklogId); })) return true;
      if (attemptsLeft <= 0) return false;
      return new Promise(function (resolve) { setTimeout(resolve, 500); }).then(function () {
        return waitForMirror(worklogId, dateText, attemptsLeft - 1);
      });
    });
  }

  function logTime(event) {
    event.preventDefault();
    var form = $("log-time-form"), status = $("log-status");
    Array.prototype.forEach.call(form.querySelectorAll("[aria-invalid]"), function (i) { i.removeAttribute("aria-invalid"); });
    var issueKey = form.issue_key.value.trim().toUpperCase();
    var seconds = parseSpent(form.time_spent.value);
    if (!/^[A-Z][A-Z0-9_]*-\d+$/.test(issueKey)) return fieldError(form.issue_key, "Enter an issue key like ACME-12.");
    if (!form.date.value) return fieldError(form.date, "Choose the day you did the work.");
    if (seconds < 60) return fieldError(form.time_spent, "Enter the time spent, like 1h 30m, 45m or 1.5.");
    var body = { started: jiraStarted(form.date.value, form.start.value), timeSpentSeconds: seconds };
    var comment = form.comment.value.trim();
    if (comment) {
      body.comment = { type: "doc", version: 1, content: [{ type: "paragraph", content: [{ type: "text", text: comment }] }] };
    }
    var spent = describeSeconds(seconds), day = form.date.value;
    return ui.busy($("log-submit"), "Logging…", function () {
      return AP.request({
        url: "/rest/api/3/issue/" + encodeURIComponent(issueKey) + "/worklog",
        type: "POST",
        contentType: "application/json",
        data: JSON.stringify(body),
      }).then(function (response) {
        var created = JSON.parse(response.body);
        ui.message(status, "info", "Logged in Jira", "Logged " + spent + " on " + issueKey + ". Adding it to the list…");
        form.time_spent.value = "";
        form.comment.value = "";
        return waitForMirror(created.id, day, 20).then(function (found) {
          if (found) {
            ui.showSuccess(status, "Time logged", "Logged " + spent + " on " + issueKey + " (" + fmt.day(day) + "). It is in the list now.");
            ui.flag("success", "Time logged", spent + " on " + issueKey);
            return load(false);
          }
          ui.message(status, "info", "Logged in Jira", "Logged " + spent + " on " + issueKey +
            ". Jira has it; Worklog360 shows it here within a minute. Press Apply filters to refresh.");
        });
      }, function (failure) {
        var jiraStatus = failure && failure.xhr ? failure.xhr.status : 0;
        var why = jiraStatus === 404 ? "Jira has no issue " + issueKey + " that you can see. Check the key." : jiraErrorText(failure && failure.err);
        ui.message(status, "error", "Jira did not log the time", why + " Nothing was saved; correct it and try again.");
      });
    });
  }

  function openLogTime(open) {
    $("log-time").hidden = !open;
    $("log-time-toggle").setAttribute("aria-expanded", open ? "true" : "false");
    if (open) {
      if (!$("log-date").value) $("log-date").value = fmt.isoDay(new Date());
      $("log-issue").focus();
    } else {
      $("log-time-toggle").focus();
    }
  }

  /* --- wiring ------------------------------------------------------------------------------- */

  $("filters").addEventListener("submit", function (e) { e.preventDefault(); search(); });
  $("f-clear").addEventListener("click", clearFilters);
  $("f-period").addEventListener("change", applyPeriod);
  ["f-from", "f-to"].forEach(function (id) { $(id).addEventListener("change", function () { $("f-period").value = "custom"; }); });
  $("select-all").addEventListener("change", function () {
    var on = $("select-all").checked;
    document.querySelectorAll(".row-select").forEach(function (box) {
      box.checked = on;
      box.closest("tr").setAttribute("aria-selected", on ? "true" : "false");
      if (on) state.selected.add(box.value); else state.selected.delete(box.value);
    });
    updateSelection();
  });
  $("bulk-assign").addEventListener("click", function () { assign($("bulk-budget").value); });
  $("bulk-unassign").addEventListener("click", function () { assign(null); });
  $("load-more").addEventListener("click", function () { ui.busy($("load-more"), "Loading…", function () { return load(true); }); });
  $("log-time-toggle").addEventListener("click", function () { openLogTime($("log-time").hidden); });
  $("log-cancel").addEventListener("click", function () { openLogTime(false); });
  $("log-time-form").addEventListener("submit", logTime);

  loadChoices().catch(function (error) {
    ui.showError(pageStatus, error, "Filters could not be loaded");
  }).then(search);
})();
