/* The Worklogs page: filter, sort, select, assign to a budget, billable toggle, a worklog's own rate, Log time. */
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
  /* Newest first by default; a column header sorts by it (the server sorts, so every page
     continues the same order). Dates and hours start largest first, issues and people A to Z. */
  var FIRST_ORDER = { started: "desc", issue: "asc", person: "asc", hours: "desc" };
  var state = {
    budgets: {}, currencies: {}, rows: [], selected: new Set(), cursor: null, query: {},
    sort: "started", order: "desc", totals: null,
  };
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

  /* A worklog on an invoice (draft or finalized) keeps its budget, rate and billable flag:
     the API refuses changes (409 worklog_invoiced), so the page offers none, and says why. */
  function invoiceOf(row) {
    if (row.invoice) return row.invoice;
    return row.invoice_id ? { id: row.invoice_id, number: null, status: "draft" } : null;
  }

  function lockReason(row) {
    var invoice = invoiceOf(row);
    if (!invoice) return "";
    return invoice.number ? "On invoice " + invoice.number : "On a draft invoice";
  }

  function invoiceLink(row) {
    var invoice = invoiceOf(row);
    var link = h("a", {
      href: "#invoice-" + invoice.id, class: "invoice-link", "data-invoice": invoice.id,
      title: invoice.number
        ? "Finalized: its worklogs keep the budget, rate and billable flag they were billed with."
        : "A draft holds its worklogs: remove their line or delete the draft to change them.",
    }, lockReason(row));
    link.addEventListener("click", function (event) {
      event.preventDefault();
      W360.page.go(W360.page.modules.invoices, { invoice_id: invoice.id });
    });
    return link;
  }

  function rateCell(row) {
    var locked = !!invoiceOf(row);
    var edit = null;
    if (!locked) {
      edit = h("button", {
        type: "button", class: "btn btn-link btn-compact rate-edit edit-only", "aria-expanded": "false",
        "aria-controls": "rate-editor-" + row.id, "aria-label": "Set rate for " + worklogName(row),
      }, "Set rate");
      edit.addEventListener("click", function () { toggleRateEditor(row, edit); });
    }
    if (row.rate === null && !fmt.moneyHidden()) { // hidden from this person: "Hidden" below
      return h("td", { class: "numeric" },
        h("span", { class: "lozenge lozenge-moved", title: "Set a rate on the client, the budget or in Settings" }, "No rate"),
        edit ? h("span", { class: "cell-sub" }, edit) : null);
    }
    return h("td", { class: "numeric" },
      h("span", { class: "cell-main" }, fmt.money(row.rate, currencyOf(row))),
      h("span", { class: "cell-sub" }, locked ? "Billed at this rate" : (RATE_SOURCES[row.rate_source] || row.rate_source || "")),
      edit ? h("span", { class: "cell-sub" }, edit) : null);
  }

  function budgetCell(row) {
    var parts = [];
    if (row.budget_id) parts.push(h("span", { class: "lozenge lozenge-inprogress" }, budgetName(row.budget_id)));
    else parts.push(h("span", { class: "lozenge" }, "Unassigned"));
    if (invoiceOf(row)) parts.push(h("span", { class: "cell-sub lock-reason", id: "lock-" + row.id }, invoiceLink(row)));
    if (row.deleted_in_jira) parts.push(h("span", { class: "cell-sub" }, "Deleted in Jira"));
    return h("td", null, parts);
  }

  function billableCell(row) {
    var locked = !!invoiceOf(row);
    var input = h("input", {
      type: "checkbox", checked: row.billable, "data-worklog": row.id, disabled: locked,
      "aria-describedby": locked ? "lock-" + row.id : null,
      "aria-label": "Billable: " + worklogName(row),
    });
    input.addEventListener("change", function () { toggleBillable(row, input); });
    return h("td", null, h("label", { class: "toggle" + (locked ? " locked" : "") }, input, h("span", { class: "track", "aria-hidden": "true" }),
      h("span", { class: "toggle-text" }, row.billable ? "Yes" : "No")));
  }

  function renderRow(row) {
    var locked = !!invoiceOf(row);
    var checkbox = h("input", {
      type: "checkbox", class: "row-select", value: row.id, checked: !locked && state.selected.has(row.id),
      disabled: locked, "aria-describedby": locked ? "lock-" + row.id : null,
      "aria-label": "Select " + (row.issue_key || "worklog " + row.id) + ", " + fmt.hours(row.hours) + " on " + fmt.day(row.started),
    });
    checkbox.addEventListener("change", function () {
      if (checkbox.checked) state.selected.add(row.id); else state.selected.delete(row.id);
      tr.setAttribute("aria-selected", checkbox.checked ? "true" : "false");
      updateSelection();
    });
    var tr = h("tr", {
      "data-worklog": row.id, "aria-selected": state.selected.has(row.id) ? "true" : "false",
      class: locked ? "locked" : null,
    },
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

  /* Only worklogs that can move count: one on an invoice has no checkbox to tick. */
  function selectableBoxes() {
    return Array.prototype.filter.call(document.querySelectorAll(".row-select"), function (b) { return !b.disabled; });
  }

  function updateSelection() {
    var count = state.selected.size;
    $("selection-count").textContent = count + " selected";
    $("bulk-assign").disabled = count === 0;
    $("bulk-unassign").disabled = count === 0;
    var boxes = selectableBoxes();
    var all = boxes.length > 0 && boxes.every(function (b) { return b.checked; });
    $("select-all").checked = all;
    $("select-all").indeterminate = !all && count > 0;
    $("select-all").disabled = boxes.length === 0;
  }

  function plural(n, one, many) { return n.toLocaleString() + " " + (n === 1 ? one : many); }

  /* The totals are the whole filter's (the API sums them), not the loaded rows'. */
  function renderSummary() {
    var totals = state.totals, shown = state.rows.length;
    var text;
    if (totals) {
      text = plural(totals.worklogs, "worklog", "worklogs") + " · " + fmt.hours(totals.hours) + " in all · " +
        fmt.hours(totals.billable_hours) + " billable";
      if (shown < totals.worklogs) text += " · showing " + shown.toLocaleString() + ", Load more for the rest";
    } else {
      text = "Showing " + plural(shown, "worklog", "worklogs") +
        (totals === false ? " · the totals could not be worked out just now: Apply filters to try again" : " · adding up the totals…");
    }
    $("worklogs-summary").textContent = text;
    var empty = $("worklogs-empty");
    ui.clear(empty);
    if (state.pageReady && state.rows.length === 0) {
      empty.appendChild(h("div", { class: "empty" },
        h("h3", null, "No worklogs match"),
        h("p", null, "Try another period or person, or clear the filters. Time logged in Jira shows up here within a minute."),
        h("button", { type: "button", class: "btn", onclick: clearFilters }, "Clear filters")));
    }
    $("load-more").hidden = !state.cursor;
  }

  /* --- sorting ------------------------------------------------------------------------------ */

  function renderSortHeaders() {
    document.querySelectorAll("#worklogs-table th[data-sort]").forEach(function (th) {
      var key = th.getAttribute("data-sort"), active = key === state.sort;
      th.setAttribute("aria-sort", active ? (state.order === "asc" ? "ascending" : "descending") : "none");
      th.querySelector(".sort-arrow").textContent = active ? (state.order === "asc" ? "▲" : "▼") : "";
    });
  }

  function sortBy(key) {
    if (key === state.sort) state.order = state.order === "asc" ? "desc" : "asc";
    else { state.sort = key; state.order = FIRST_ORDER[key]; }
    renderSortHeaders();
    state.selected.clear();
    return load(false);
  }

  function rowElement(id) {
    return document.querySelector("#worklogs-body tr[data-worklog='" + id + "']");
  }

  /* The totals are asked on their own (the whole filter, however many pages): the list shows
     as soon as its first page is there. Only the answer for the latest filters counts. */
  function loadTotals() {
    var asked = state.totalsAsked = (state.totalsAsked || 0) + 1;
    state.totals = null;
    renderSummary();
    return api.get("/api/worklogs/totals", state.query).then(function (totals) {
      if (asked !== state.totalsAsked) return;
      state.totals = totals;
      renderSummary();
    }).catch(function () {
      if (asked !== state.totalsAsked) return;
      state.totals = false;  // say so in the summary; the list itself is fine
      renderSummary();
    });
  }

  function load(append) {
    var query = Object.assign({}, state.query, { limit: 100, sort: state.sort, order: state.order });
    if (append) query.cursor = state.cursor;
    else {
      ui.loading(listStatus, "Loading worklogs…");
      state.pageReady = false;
      // The rows on screen are the old answer until the new one arrives: say so, so nothing
      // (a person or a test) picks rows from a list that is about to go.
      $("worklogs-body").setAttribute("aria-busy", "true");
    }
    var totals = append ? null : loadTotals();
    // Only the answer to the latest question shows: sorting twice quickly, or filtering
    // while a page is on its way, must not leave an older order on screen.
    var asked = state.listAsked = (state.listAsked || 0) + 1;
    var page = api.get("/api/worklogs", query).then(function (page) {
      if (asked !== state.listAsked) return;
      ui.clear(listStatus);
      var body = $("worklogs-body");
      if (!append) { ui.clear(body); state.rows = []; }
      page.items.forEach(function (row) {
        if (rowElement(row.id)) return;  // already shown: pinned at the top after Log time
        state.rows.push(row);
        body.appendChild(renderRow(row));
      });
      if (!append) {
        body.removeAttribute("aria-busy");
        // Rows ticked in the old list while this one was on its way are not on screen: they
        // must not be assigned unseen.
        state.selected.forEach(function (id) { if (!rowElement(id)) state.selected.delete(id); });
      }
      state.cursor = page.next_cursor;
      state.pageReady = true;
      renderSummary();
      updateSelection();
    }).catch(function (error) {
      if (asked !== state.listAsked) return;
      $("worklogs-body").removeAttribute("aria-busy");
      ui.showError(listStatus, error, "Worklogs could not be loaded");
    });
    return Promise.all([page, totals]);
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
      loadTotals();
    }).catch(function (error) {
      input.checked = !wanted;
      if (error.code === "worklog_invoiced") {
        // Invoiced since the list was read: say so, and show the row as it is now.
        var box = ui.message(pageStatus, "error", "The billable flag was not changed", error.message);
        box.setAttribute("data-error-code", error.code);
        refreshRow(row);
        return;
      }
      ui.showError(pageStatus, error, "The billable flag was not changed");
    }).finally(function () { input.disabled = !!invoiceOf(row); });
  }

  /* One row read again (its issue on its day holds it), replaced where it is. */
  function refreshRow(row) {
    var day = String(row.started).slice(0, 10);  // the work day, in the worklog's own offset
    return api.get("/api/worklogs", { issue_key: row.issue_key, from: day, to: day, limit: 500 }).then(function (page) {
      var fresh = page.items.filter(function (w) { return w.id === row.id; })[0];
      var old = rowElement(row.id);
      if (!fresh || !old) return;
      var index = state.rows.findIndex(function (r) { return r.id === row.id; });
      if (index >= 0) state.rows[index] = fresh;
      closeRateEditor(row);
      old.replaceWith(renderRow(fresh));
      updateSelection();
    }).catch(function () { /* the message above already says what happened */ });
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
          // Invoiced since the list was read: the row shows its invoice now, without Set rate.
          var box = ui.message(pageStatus, "error", "This worklog's rate is locked", error.message);
          box.setAttribute("data-error-code", error.code);
          refreshRow(row);
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
      var found = page.items.filter(function (w) { return w.id === String(worklogId); })[0];
      if (found) return found;
      if (attemptsLeft <= 0) return null;
      return new Promise(function (resolve) { setTimeout(resolve, 500); }).then(function () {
        return waitForMirror(worklogId, dateText, attemptsLeft - 1);
      });
    });
  }

  /* The worklog just logged, highlighted where the list has it; if this page of the list
     does not (another sort, a filter, further down), pinned at the top so it is in view. */
  function showJustLogged(item) {
    document.querySelectorAll("#worklogs-body tr.just-logged").forEach(function (old) { old.classList.remove("just-logged"); });
    var body = $("worklogs-body"), tr = rowElement(item.id), where = "It is highlighted in the list.";
    if (!tr) {
      tr = renderRow(item);
      body.insertBefore(tr, body.firstChild);
      state.rows.unshift(item);
      renderSummary();
      updateSelection();
      where = "It is pinned at the top of the list (with these filters or this sort it would be further down).";
    }
    tr.classList.add("just-logged");
    var issueCell = tr.children[2];
    if (!issueCell.querySelector(".just-logged-note")) {
      issueCell.appendChild(h("span", { class: "lozenge lozenge-success just-logged-note" }, "Just logged"));
    }
    tr.scrollIntoView({ block: "nearest" });
    return where;
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
            return load(false).then(function () {
              var where = showJustLogged(found);
              ui.showSuccess(status, "Time logged", "Logged " + spent + " on " + issueKey + " (" + fmt.day(day) + "). " + where);
            });
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
    selectableBoxes().forEach(function (box) {
      box.checked = on;
      box.closest("tr").setAttribute("aria-selected", on ? "true" : "false");
      if (on) state.selected.add(box.value); else state.selected.delete(box.value);
    });
    updateSelection();
  });
  document.querySelectorAll("#worklogs-table th[data-sort] button").forEach(function (button) {
    button.addEventListener("click", function () {
      var key = button.closest("th").getAttribute("data-sort");
      // Not ui.busy: it would put back the label as plain text, without its arrow.
      button.disabled = true;
      sortBy(key).finally(function () { button.disabled = false; });
    });
  });
  renderSortHeaders();
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
