/*
 * Financials → Invoices: the list (local and QuickBooks status, paid, balance; filters and
 * pages), a new draft from a budget, and one invoice: lines with actual and billed hours,
 * draft editing, Finalize Invoice, Sync with QB, Refresh status, payments, drift.
 */
(function () {
  "use strict";
  var api = W360.api, ui = W360.ui, fmt = W360.fmt, h = ui.h, qbo = W360.qbo;
  var $ = function (id) { return document.getElementById(id); };
  var pageStatus = $("page-status");
  var state = {
    clients: {}, budgets: {}, budgetList: [],
    filters: { status: "", client_id: "", budget_id: "" },
    cursors: [null], pageIndex: 0,
    current: null, connection: null,
  };
  var GROUP_BY = { issue: "issue", author: "person", worklog: "worklog" };
  var PAGE_SIZE = 25;

  function invoiceName(inv) { return inv.number ? "Invoice " + inv.number : "Draft invoice #" + inv.id; }
  function localLozenge(status) {
    return status === "finalized"
      ? h("span", { class: "lozenge lozenge-inprogress", "data-status": "finalized" }, "Finalized")
      : h("span", { class: "lozenge", "data-status": "draft" }, "Draft");
  }
  function quickbooksStatus(inv) {
    if (inv.status !== "finalized") return h("span", { class: "subtle" }, "—");
    return qbo.statusLozenge(inv.quickbooks ? inv.quickbooks.status : "not_synced");
  }
  function synced(inv) { return !!(inv.quickbooks && inv.quickbooks.status && inv.quickbooks.status !== "not_synced"); }
  function plural(n, word) { return n + " " + word + (n === 1 ? "" : "s"); }

  /* --- references (clients and budgets) ---------------------------------------------------- */

  function loadReferences() {
    return Promise.all([api.get("/api/clients", { limit: 500 }), api.get("/api/budgets", { limit: 500 })]).then(function (answers) {
      state.clients = {};
      answers[0].items.forEach(function (c) { state.clients[c.id] = c; });
      state.budgetList = answers[1].items;
      state.budgets = {};
      state.budgetList.forEach(function (b) { state.budgets[b.id] = b; });
      var fClient = $("f-client"), fBudget = $("f-budget"), gBudget = ui.clear($("gen-budget"));
      answers[0].items.forEach(function (c) { fClient.appendChild(h("option", { value: c.id }, c.name)); });
      state.budgetList.forEach(function (b) {
        var client = state.clients[b.client_id];
        var label = b.name + (client ? " (" + client.name + ")" : "");
        fBudget.appendChild(h("option", { value: b.id }, label));
        gBudget.appendChild(h("option", { value: b.id }, label));
      });
    });
  }

  /* --- the list -------------------------------------------------------------------------- */

  function renderList(page) {
    var body = ui.clear($("invoices-body"));
    page.items.forEach(function (inv) {
      var open = h("button", { type: "button", class: "btn btn-link", "data-invoice": inv.id }, inv.number || "Draft #" + inv.id);
      open.addEventListener("click", function () { showDetail(inv.id); });
      var q = inv.quickbooks;
      body.appendChild(h("tr", { "data-invoice": inv.id },
        h("td", null, h("span", { class: "cell-main" }, open), h("span", { class: "cell-sub" }, inv.client.name + " · " + inv.budget.name)),
        h("td", { class: "hide-narrow" }, fmt.day(inv.period_start) + " – " + fmt.day(inv.period_end)),
        h("td", null, localLozenge(inv.status)),
        h("td", null, quickbooksStatus(inv)),
        h("td", { class: "numeric" }, fmt.money(inv.total, inv.currency)),
        h("td", { class: "numeric" }, synced(inv) ? fmt.money(q.paid, inv.currency) : "—"),
        h("td", { class: "numeric" }, synced(inv) ? fmt.money(q.balance, inv.currency) : "—")));
    });
    var empty = ui.clear($("invoices-empty"));
    var filtered = state.filters.status || state.filters.client_id || state.filters.budget_id;
    if (!page.items.length) {
      empty.appendChild(h("div", { class: "empty" },
        h("h3", null, filtered ? "No invoices match these filters" : "No invoices yet"),
        h("p", null, filtered ? "Clear the filters to see every invoice." : "Make the first one from a budget: its assigned, billable worklogs become a draft you can review."),
        filtered
          ? h("button", { type: "button", class: "btn", onclick: clearFilters }, "Clear filters")
          : h("button", { type: "button", class: "btn btn-primary edit-only", onclick: function () { openGenerator(); } }, "New invoice")));
    }
    $("page-prev").disabled = state.pageIndex === 0;
    $("page-next").disabled = !page.next_cursor;
    $("page-label").textContent = page.items.length || state.pageIndex ? "Page " + (state.pageIndex + 1) : "";
    $("invoices-pager").hidden = state.pageIndex === 0 && !page.next_cursor;
    if (page.next_cursor) state.cursors[state.pageIndex + 1] = page.next_cursor;
  }

  function loadList() {
    ui.loading($("invoices-status"), "Loading invoices…");
    var query = Object.assign({ limit: PAGE_SIZE, cursor: state.cursors[state.pageIndex] }, state.filters);
    return api.get("/api/invoices", query).then(function (page) {
      ui.clear($("invoices-status"));
      renderList(page);
    }).catch(function (error) { ui.showError($("invoices-status"), error, "Invoices could not be loaded"); });
  }

  function applyFilters() {
    var form = $("invoice-filters");
    state.filters = { status: form.status.value, client_id: form.client_id.value, budget_id: form.budget_id.value };
    state.cursors = [null];
    state.pageIndex = 0;
    return loadList();
  }

  function clearFilters() {
    $("invoice-filters").reset();
    return applyFilters();
  }

  $("invoice-filters").addEventListener("submit", function (event) { event.preventDefault(); applyFilters(); });
  $("f-clear").addEventListener("click", clearFilters);
  $("page-prev").addEventListener("click", function () { if (state.pageIndex > 0) { state.pageIndex -= 1; loadList(); } });
  $("page-next").addEventListener("click", function () {
    if (state.cursors[state.pageIndex + 1]) { state.pageIndex += 1; loadList(); }
  });

  function showList() {
    state.current = null;
    $("invoice-detail").hidden = true;
    $("invoice-list").hidden = false;
    return loadList();
  }

  /* --- a new draft ----------------------------------------------------------------------- */

  function lastMonth() {
    var now = new Date();
    return [fmt.isoDay(new Date(now.getFullYear(), now.getMonth() - 1, 1)), fmt.isoDay(new Date(now.getFullYear(), now.getMonth(), 0))];
  }

  function openGenerator(budgetId) {
    var form = $("generator-form");
    ui.clear($("generator-status"));
    if (!state.budgetList.length) {
      ui.message($("generator-status"), "info", "No budgets yet", "Invoices are made from budgets: create one on the Budgets page first.",
        h("button", { type: "button", class: "btn btn-compact", onclick: function () { W360.page.go(W360.page.modules.budgets); } }, "Open Budgets"));
    }
    if (budgetId) form.budget_id.value = String(budgetId);
    if (!form.period_start.value) {
      var month = lastMonth();
      form.period_start.value = month[0];
      form.period_end.value = month[1];
    }
    $("invoice-generator").hidden = false;
    $("new-invoice").setAttribute("aria-expanded", "true");
    form.budget_id.focus();
  }

  function closeGenerator() {
    $("invoice-generator").hidden = true;
    $("new-invoice").setAttribute("aria-expanded", "false");
  }

  function generatorFix(error, budget) {
    var go = function (label, module, data) {
      return h("button", { type: "button", class: "btn btn-compact", onclick: function () { W360.page.go(W360.page.modules[module], data || {}); } }, label);
    };
    if (error.code === "nothing_to_invoice") {
      return h("div", null,
        h("p", { class: "next-step" }, "Choose a longer period (\u201cWhole budget to date\u201d), or assign worklogs to " + budget.name + " on the Worklogs page. Worklogs already on an invoice, drafts included, are not taken again."),
        h("div", { class: "button-group" }, go("Assign worklogs on the Worklogs page", "worklogs", { budget_id: budget.id })));
    }
    if (error.code === "rate_missing") {
      return h("div", null,
        h("p", { class: "next-step" }, "Give the work a rate: on the budget (Budgets → Edit budget), on the client (Manage → Clients) or as the site's default hourly rate (Settings)."),
        h("div", { class: "button-group" }, go("Open the budget", "budgets", { budget_id: budget.id }), go("Open Manage → Clients", "clients"), go("Open Settings", "settings")));
    }
    return null;
  }

  $("new-invoice").addEventListener("click", function () { openGenerator(state.current ? state.current.budget.id : null); });
  $("gen-cancel").addEventListener("click", function () { closeGenerator(); $("new-invoice").focus(); });
  $("gen-whole").addEventListener("click", function () {
    var form = $("generator-form"), budget = state.budgets[form.budget_id.value];
    if (!budget) return;
    var today = fmt.isoDay(new Date());
    form.period_start.value = budget.starts_on;
    form.period_end.value = budget.ends_on && budget.ends_on < today ? budget.ends_on : today;
    ui.message($("generator-status"), "info", "Period set", "From the budget's start, " + fmt.day(form.period_start.value) + ", to " + fmt.day(form.period_end.value) + ".");
  });
  $("generator-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var form = event.target, budget = state.budgets[form.budget_id.value];
    var status = $("generator-status");
    if (!budget || !form.period_start.value || !form.period_end.value) {
      ui.message(status, "error", "Check the form", "Choose a budget and both dates of the period.");
      return;
    }
    if (form.period_end.value < form.period_start.value) {
      form.period_end.setAttribute("aria-invalid", "true");
      ui.message(status, "error", "Check the period", "The period ends before it starts: the second date must be on or after the first.");
      form.period_end.focus();
      return;
    }
    form.period_end.removeAttribute("aria-invalid");
    var body = { period_start: form.period_start.value, period_end: form.period_end.value, group_by: form.group_by.value };
    ui.busy($("gen-submit"), "Generating…", function () {
      return api.post("/api/budgets/" + budget.id + "/invoices", body).then(function (invoice) {
        closeGenerator();
        renderDetail(invoice);
        showDetailSection();
        ui.showSuccess($("detail-status"), "Draft created",
          plural(invoice.line_count, "line") + ", " + fmt.hours(invoice.hours) + ", " + fmt.money(invoice.total, invoice.currency) +
          ". Review the lines, hours, rates and amounts, then click Finalize Invoice.");
        ui.flag("success", "Draft invoice created", budget.name);
      }).catch(function (error) {
        var extra = generatorFix(error, budget);
        if (!extra) { ui.showError(status, error, "The invoice was not created"); return; }
        var box = ui.message(status, "error", "The invoice was not created", error.message, extra);
        box.setAttribute("data-error-code", error.code);
      });
    });
  });

  /* --- one invoice ----------------------------------------------------------------------- */

  function showDetailSection() {
    $("invoice-list").hidden = true;
    $("invoice-detail").hidden = false;
    $("detail-title").focus();
  }

  function showDetail(id) {
    ui.clear($("detail-status"));
    ui.clear($("qbo-sync-status"));
    return api.get("/api/invoices/" + id).then(function (invoice) {
      renderDetail(invoice);
      showDetailSection();
    }).catch(function (error) { ui.showError(pageStatus, error, "The invoice could not be opened"); });
  }

  function reloadCurrent() {
    return api.get("/api/invoices/" + state.current.id).then(renderDetail);
  }

  function renderDetail(inv) {
    if (!state.current || state.current.id !== inv.id || state.current.status !== inv.status) {
      ui.clear($("lines-status"));
      ui.clear($("details-status"));
    }
    state.current = inv;
    var draft = inv.status === "draft";
    $("detail-title").textContent = invoiceName(inv);
    var badges = ui.clear($("detail-badges"));
    badges.appendChild(localLozenge(inv.status));
    if (!draft) badges.appendChild(quickbooksStatus(inv));
    ui.clear($("detail-confirm"));
    renderActions(inv);
    renderFacts(inv);
    renderDrift(inv);
    renderQuickBooks(inv);
    renderLines(inv);
    renderDetails(inv);
  }

  function renderActions(inv) {
    var actions = ui.clear($("detail-actions"));
    if (inv.status === "draft") {
      actions.appendChild(h("button", { type: "button", class: "btn btn-primary edit-only", id: "finalize", onclick: confirmFinalize }, "Finalize Invoice"));
      actions.appendChild(h("button", { type: "button", class: "btn btn-subtle edit-only", id: "delete-draft", onclick: confirmDelete }, "Delete draft"));
      return;
    }
    var sync = h("button", { type: "button", class: "btn edit-only" + (synced(inv) ? "" : " btn-primary"), id: "sync" }, "Sync with QB");
    sync.addEventListener("click", function () { syncInvoice(sync); });
    actions.appendChild(sync);
    if (synced(inv)) {
      var refresh = h("button", { type: "button", class: "btn", id: "refresh-status" }, "Refresh status");
      refresh.addEventListener("click", function () { refreshStatus(refresh); });
      actions.appendChild(refresh);
    }
  }

  /* Jira's name for a person; their account id when Jira could not say. */
  function personName(person) {
    return person ? person.display_name || person.account_id : null;
  }

  function fact(list, label, value, id) {
    list.appendChild(h("div", null, h("dt", null, label), h("dd", { id: id || null }, value)));
  }

  function renderFacts(inv) {
    var list = ui.clear($("detail-facts"));
    fact(list, "Client", inv.client.name);
    fact(list, "Budget", inv.budget.name);
    fact(list, "Period", fmt.day(inv.period_start) + " – " + fmt.day(inv.period_end));
    fact(list, "Issue date", fmt.day(inv.issue_date));
    fact(list, "Due date", fmt.day(inv.due_date));
    fact(list, "Total", fmt.money(inv.total, inv.currency) + " " + inv.currency, "detail-total");
    fact(list, "Hours", fmt.hours(inv.hours) + " billed · " + fmt.hours(inv.actual_hours) + " actual");
    fact(list, "One line per", GROUP_BY[inv.group_by] || inv.group_by);
    fact(list, "Rounding", inv.rounding_mode === "none" || !inv.rounding_minutes ? "None" : (inv.rounding_mode === "up" ? "Up" : "To nearest") + " " + inv.rounding_minutes + " min, each worklog");
    if (inv.finalized_at) {
      var by = personName(inv.finalized_by);
      fact(list, "Finalized", fmt.day(inv.finalized_at) + (by ? " by " + by : ""), "detail-finalized");
    }
  }

  function lineOfWorklog(inv, worklogId) {
    return inv.lines.filter(function (l) { return (l.worklog_ids || []).indexOf(String(worklogId)) >= 0; })[0];
  }

  function renderDrift(inv) {
    var box = ui.clear($("detail-drift"));
    if (!inv.drift || !inv.drift.length) return;
    var updated = inv.drift.filter(function (d) { return d.change === "updated"; }).length;
    var deleted = inv.drift.length - updated;
    var items = h("ul", { id: "drift-list" });
    inv.drift.forEach(function (d) {
      var line = lineOfWorklog(inv, d.worklog_id);
      items.appendChild(h("li", { "data-worklog": d.worklog_id },
        "Worklog " + d.worklog_id + (line ? " on the line “" + line.description + "”" : "") + " was " +
        (d.change === "deleted" ? "deleted" : "changed") + " in Jira on " + fmt.day(d.detected_at) + "."));
    });
    var parts = [];
    if (updated) parts.push(plural(updated, "worklog") + " changed");
    if (deleted) parts.push(plural(deleted, "worklog") + " deleted");
    var box2 = ui.message(box, "warning", "Changed in Jira after finalizing: " + parts.join(", "),
      "This invoice stays as it was finalized and was not changed. Check the work below with the people who logged it; if the client must be billed differently, correct it with a credit note or a new invoice.",
      items);
    box2.setAttribute("data-drift", String(inv.drift.length));
  }

  /* --- QuickBooks: status, sync, refresh, payments ---------------------------------------- */

  function renderQuickBooks(inv) {
    var body = ui.clear($("qbo-body"));
    var q = inv.quickbooks;
    var c = state.connection;
    if (c && (c.state === "expired" || c.state === "disconnected") && inv.status === "finalized" && !synced(inv)) {
      var warn = { code: c.state === "expired" ? "quickbooks_reconnect_required" : "quickbooks_not_connected",
        message: c.state === "expired" ? "The QuickBooks connection has expired." : "QuickBooks is not connected." };
      var fix = qbo.fixFor(warn, { client: inv.client });
      ui.message(body.appendChild(h("div")), "warning", warn.message, fix.text, fix.action ? h("div", { class: "button-group" }, fix.action) : null);
    }
    if (inv.status === "draft") {
      body.appendChild(h("p", { class: "subtle", id: "qbo-summary" }, "Only finalized invoices can be synced. Review the lines, then click Finalize Invoice; Sync with QB comes next."));
      return;
    }
    if (!synced(inv)) {
      body.appendChild(h("p", { id: "qbo-summary" }, qbo.statusLozenge("not_synced"), " ",
        "Not in QuickBooks yet. Sync with QB creates it for " + inv.client.name + "'s QuickBooks customer, with invoice number " + inv.number + ", its lines, hours (Qty), rates and amounts."));
      if (q && q.error) quickbooksProblem(body, q.error, inv);
      return;
    }
    var list = h("dl", { class: "facts", id: "qbo-facts" });
    fact(list, "QuickBooks invoice", q.doc_number || q.invoice_id, "qbo-doc-number");
    list.appendChild(h("div", null, h("dt", null, "Status"), h("dd", { id: "qbo-status" }, qbo.statusLozenge(q.status))));
    fact(list, "Total", fmt.money(q.total, inv.currency), "qbo-total");
    fact(list, "Paid", fmt.money(q.paid, inv.currency), "qbo-paid");
    fact(list, "Balance", fmt.money(q.balance, inv.currency), "qbo-balance");
    if (q.synced_at) fact(list, "Synced", fmt.day(q.synced_at) + " " + new Date(q.synced_at).toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" }));
    if (q.refreshed_at) fact(list, "Status read", fmt.day(q.refreshed_at) + " " + new Date(q.refreshed_at).toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" }), "qbo-refreshed");
    body.appendChild(list);
    if (q.total && Number(q.total) !== Number(inv.total)) {
      ui.message(body.appendChild(h("div")), "warning", "The total differs in QuickBooks",
        "QuickBooks says " + fmt.money(q.total, inv.currency) + ", this invoice " + fmt.money(inv.total, inv.currency) + ": the invoice was edited in QuickBooks. Paid and balance follow QuickBooks.");
    }
    if (q.status === "voided" || q.status === "deleted") {
      ui.message(body.appendChild(h("div")), "warning", q.status === "voided" ? "Voided in QuickBooks" : "Deleted in QuickBooks",
        "Nothing is owed on it in QuickBooks any more. If the client should still pay for this work, bill it again from QuickBooks or with a new invoice.");
    }
    if (q.error) quickbooksProblem(body, q.error, inv);
    var payments = q.payments || [];
    body.appendChild(h("h4", null, "Payments"));
    if (!payments.length) {
      body.appendChild(h("p", { class: "subtle", id: "payments-empty" }, "No payment recorded in QuickBooks yet. Payments appear here when they are recorded in QuickBooks (click Refresh status to read them now)."));
    } else {
      var rows = h("tbody", { id: "payments-body" });
      payments.forEach(function (p) {
        rows.appendChild(h("tr", null, h("td", null, fmt.day(p.date)), h("td", { class: "numeric" }, fmt.money(p.amount, inv.currency)), h("td", { class: "subtle" }, p.id ? "QuickBooks payment " + p.id : "")));
      });
      body.appendChild(h("div", { class: "table-wrap" }, h("table", { class: "ds-table", id: "payments-table" },
        h("thead", null, h("tr", null, h("th", { scope: "col" }, "Date"), h("th", { scope: "col", class: "numeric" }, "Amount"), h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, "Reference")))),
        rows)));
    }
  }

  function quickbooksProblem(body, error, inv) {
    var e = typeof error === "string" ? { code: "", message: error } : { code: error.code, message: error.message || String(error.code) };
    qbo.showError(body.appendChild(h("div", { id: "qbo-last-error" })), e, "The last exchange with QuickBooks failed", { client: inv.client });
  }

  function syncInvoice(button) {
    var inv = state.current, status = $("qbo-sync-status");
    ui.clear($("detail-status"));
    var steps = h("ol", { class: "steps" },
      h("li", { class: "done" }, "Invoice " + inv.number + " is finalized"),
      h("li", { class: "todo" }, "Creating it in QuickBooks for " + inv.client.name + "'s customer, with " + plural(inv.line_count, "line")),
      h("li", { class: "todo" }, "Reading back its QuickBooks number and status"));
    var progress = ui.message(status, "info", "Syncing with QuickBooks…", null,
      h("div", null, h("div", { class: "loading" }, h("span", { class: "spinner", "aria-hidden": "true" }), "This takes a few seconds."), steps));
    progress.setAttribute("data-syncing", "true");
    document.getElementById("detail-quickbooks").scrollIntoView({ block: "nearest" });
    return ui.busy(button, "Syncing…", function () {
      return api.post("/api/invoices/" + inv.id + "/sync").then(function () {
        return reloadCurrent();
      }).then(function () {
        var q = state.current.quickbooks || {};
        var label = (qbo.STATUS[q.status] || [q.status])[0];
        var box = ui.showSuccess(status, "Synced with QuickBooks",
          "Invoice " + (q.doc_number || state.current.number) + " is in QuickBooks for " + state.current.client.name + " (status: " + label + ", balance " + fmt.money(q.balance, state.current.currency) + ").");
        box.setAttribute("data-synced", q.doc_number || "");
        ui.flag("success", "Synced with QuickBooks", "Invoice " + (q.doc_number || state.current.number));
        var focusTarget = $("refresh-status") || $("sync");
        if (focusTarget) focusTarget.focus();
      }).catch(function (error) {
        qbo.showError(status, error, "The invoice was not synced", { client: inv.client });
        ui.flag("error", "Not synced with QuickBooks", error.message);
        return refreshConnection().then(function () { if (state.current) renderQuickBooks(state.current); });
      });
    });
  }

  function refreshStatus(button) {
    var status = $("qbo-sync-status");
    return ui.busy(button, "Reading QuickBooks…", function () {
      return api.post("/api/invoices/" + state.current.id + "/refresh").then(function () {
        return reloadCurrent();
      }).then(function () {
        var inv = state.current, q = inv.quickbooks || {};
        var label = (qbo.STATUS[q.status] || [q.status])[0];
        ui.showSuccess(status, "Status read from QuickBooks", label + ": paid " + fmt.money(q.paid, inv.currency) + ", balance " + fmt.money(q.balance, inv.currency) + ".");
        var again = $("refresh-status");
        if (again) again.focus();
      }).catch(function (error) { qbo.showError(status, error, "The status could not be read from QuickBooks", { client: state.current.client }); });
    });
  }

  function refreshConnection() {
    return api.get("/api/quickbooks/connection").then(function (c) { state.connection = c; }).catch(function () { state.connection = null; });
  }

  /* --- confirmations ---------------------------------------------------------------------- */

  function confirmBox(options) {
    var holder = ui.clear($("detail-confirm"));
    var box = h("div", { class: "confirm" + (options.danger ? " danger" : ""), role: "alertdialog", "aria-modal": "false",
      "aria-labelledby": "confirm-title", "aria-describedby": "confirm-text", id: "confirm-dialog" },
      h("h3", { id: "confirm-title" }, options.title),
      h("div", { id: "confirm-text" }, options.body));
    var yes = h("button", { type: "button", class: "btn " + (options.danger ? "btn-danger" : "btn-primary"), id: "confirm-yes" }, options.confirm);
    var no = h("button", { type: "button", class: "btn btn-subtle", id: "confirm-no" }, options.cancel || "Cancel");
    box.appendChild(h("div", { class: "button-group" }, yes, no));
    holder.appendChild(box);
    function dismiss() { ui.clear(holder); if (options.returnFocus) options.returnFocus.focus(); }
    box.addEventListener("keydown", function (e) { if (e.key === "Escape") dismiss(); });
    no.addEventListener("click", dismiss);
    yes.addEventListener("click", function () {
      ui.busy(yes, options.busy, function () {
        return options.run().then(function () { ui.clear(holder); }, function (error) { ui.clear(holder); throw error; });
      }).catch(function () { /* shown by run */ });
    });
    box.scrollIntoView({ block: "nearest" });
    yes.focus();
  }

  function confirmFinalize() {
    var inv = state.current;
    confirmBox({
      title: "Finalize this invoice?",
      body: h("div", null,
        h("p", null, "Finalizing gives it the next invoice number and locks it: its lines, hours, rates and amounts, and its " + plural(countWorklogs(inv), "worklog") + ", can no longer change."),
        h("ul", null,
          h("li", null, "Client: " + inv.client.name),
          h("li", null, "Total: " + fmt.money(inv.total, inv.currency) + " for " + fmt.hours(inv.hours)),
          h("li", null, "Due: " + fmt.day(inv.due_date))),
        h("p", null, "Only finalized invoices can be synced with QuickBooks.")),
      confirm: "Finalize Invoice",
      busy: "Finalizing…",
      returnFocus: $("finalize"),
      run: function () {
        return api.post("/api/invoices/" + inv.id + "/finalize").then(function (finalized) {
          renderDetail(finalized);
          ui.showSuccess($("detail-status"), "Invoice " + finalized.number + " finalized",
            "It is locked now. Next: Sync with QB to create it in QuickBooks.");
          ui.flag("success", "Invoice finalized", finalized.number);
          $("sync").focus();
        }).catch(function (error) { ui.showError($("detail-status"), error, "The invoice was not finalized"); throw error; });
      },
    });
  }

  function confirmDelete() {
    var inv = state.current;
    confirmBox({
      title: "Delete this draft?",
      danger: true,
      body: h("p", null, "The draft and its " + plural(inv.line_count, "line") + " are deleted; its worklogs become unbilled again and can go on another invoice."),
      confirm: "Delete draft",
      busy: "Deleting…",
      returnFocus: $("delete-draft"),
      run: function () {
        return api.del("/api/invoices/" + inv.id).then(function () {
          return showList().then(function () {
            ui.showSuccess(pageStatus, "Draft deleted", "The draft for " + inv.budget.name + " was deleted; its worklogs are free again.");
            ui.flag("success", "Draft deleted", inv.budget.name);
            $("new-invoice").focus();
          });
        }).catch(function (error) { ui.showError($("detail-status"), error, "The draft was not deleted"); throw error; });
      },
    });
  }

  function countWorklogs(inv) {
    return inv.worklog_count;
  }

  /* --- lines ------------------------------------------------------------------------------ */

  function previewAmount(hours, rate) {
    var value = Number(hours) * Number(rate);
    if (!isFinite(value)) return "—";
    return fmt.money(Math.round((value + Number.EPSILON) * 100) / 100, state.current.currency);
  }

  function renderLines(inv) {
    var draft = inv.status === "draft";
    var body = ui.clear($("lines-body"));
    $("lines-help").textContent = draft
      ? "A draft: change a line's description, billed hours or rate and press Enter or Save; add lines for anything else to bill. Actual hours are what was logged in Jira."
      : "Locked by finalizing. Actual hours are what was logged in Jira; billed hours are after rounding and review.";
    inv.lines.forEach(function (line, index) { body.appendChild(draft ? editableRow(inv, line, index) : lockedRow(inv, line)); });
    if (!inv.lines.length) {
      body.appendChild(h("tr", null, h("td", { colspan: "6", class: "subtle" }, "No lines. Add a line below, or delete the draft.")));
    }
    if (inv.lines_next_cursor) {
      var more = h("button", { type: "button", class: "button", id: "more-lines" },
        "Show more lines (" + inv.lines.length + " of " + inv.line_count + " shown)");
      more.addEventListener("click", function () { moreLines(inv, more); });
      body.appendChild(h("tr", null, h("td", { colspan: "6" }, more)));
    }
    ui.clear($("lines-foot")).appendChild(h("tr", null,
      h("th", { scope: "row" }, "Total"),
      h("td", { class: "numeric hide-narrow", id: "total-actual" }, fmt.hours(inv.actual_hours)),
      h("td", { class: "numeric", id: "total-hours" }, fmt.hours(inv.hours)),
      h("td", null),
      h("td", { class: "numeric", id: "total-amount" }, fmt.money(inv.total, inv.currency)),
      h("td", null)));
    $("add-line-form").hidden = !draft;
  }

  /* An invoice comes with its first page of lines; big ones read the rest on demand. */
  function moreLines(inv, button) {
    var url = "/api/invoices/" + inv.id + "/lines?cursor=" + encodeURIComponent(inv.lines_next_cursor);
    ui.busy(button, "Loading lines…", function () {
      return api.get(url).then(function (page) {
        if (state.current !== inv) return;
        inv.lines = inv.lines.concat(page.items);
        inv.lines_next_cursor = page.next_cursor;
        renderLines(inv);
      }).catch(function (error) { ui.showError($("lines-status"), error, "More lines could not be loaded"); });
    });
  }

  function lockedRow(inv, line) {
    return h("tr", { "data-line": line.id },
      h("td", null, h("span", { class: "cell-main" }, line.description),
        h("span", { class: "cell-sub" }, line.kind === "manual" ? "Added by hand" : plural((line.worklog_ids || []).length, "worklog"))),
      h("td", { class: "numeric hide-narrow" }, line.kind === "manual" ? "—" : fmt.hours(line.actual_hours)),
      h("td", { class: "numeric" }, fmt.hours(line.hours)),
      h("td", { class: "numeric" }, fmt.money(line.rate, inv.currency)),
      h("td", { class: "numeric" }, fmt.money(line.amount, inv.currency)),
      h("td", null));
  }

  function editableRow(inv, line, index) {
    var n = index + 1;
    var description = h("input", { type: "text", name: "description", value: line.description, maxlength: "4000", "aria-label": "Description of line " + n });
    var hours = h("input", { type: "number", class: "num", name: "hours", value: line.hours, min: "0", step: "0.01", inputmode: "decimal", "aria-label": "Billed hours of line " + n });
    var rate = h("input", { type: "number", class: "num", name: "rate", value: line.rate, min: "0", step: "0.01", inputmode: "decimal", "aria-label": "Rate of line " + n });
    var amount = h("td", { class: "numeric", "data-amount": true }, fmt.money(line.amount, inv.currency));
    var save = h("button", { type: "button", class: "btn btn-primary btn-compact edit-only", hidden: true, "aria-label": "Save line " + n }, "Save");
    var remove = h("button", { type: "button", class: "btn btn-subtle btn-compact edit-only", "aria-label": "Remove line " + n }, "Remove");
    var actions = h("td", { class: "row-actions" }, h("span", { class: "button-group" }, save, remove));
    var row = h("tr", { "data-line": line.id },
      h("td", null, description, h("span", { class: "cell-sub" }, line.kind === "manual" ? "Added by hand" : plural((line.worklog_ids || []).length, "worklog"))),
      h("td", { class: "numeric hide-narrow" }, line.kind === "manual" ? "—" : fmt.hours(line.actual_hours)),
      h("td", { class: "numeric" }, hours),
      h("td", { class: "numeric" }, rate),
      amount, actions);

    function changes() {
      var patch = {};
      if (description.value.trim() !== line.description) patch.description = description.value.trim();
      if (hours.value !== "" && Number(hours.value) !== Number(line.hours)) patch.hours = hours.value;
      if (rate.value !== "" && Number(rate.value) !== Number(line.rate)) patch.rate = rate.value;
      return patch;
    }
    function changed() {
      var dirty = Object.keys(changes()).length > 0;
      row.classList.toggle("changed", dirty);
      save.hidden = !dirty;
      amount.textContent = hours.value !== "" && rate.value !== "" ? previewAmount(hours.value, rate.value) : "—";
    }
    [description, hours, rate].forEach(function (input) {
      input.addEventListener("input", changed);
      input.addEventListener("keydown", function (e) {
        if (e.key === "Enter") { e.preventDefault(); saveLine(); }
        if (e.key === "Escape") { description.value = line.description; hours.value = line.hours; rate.value = line.rate; changed(); }
      });
    });
    function saveLine() {
      var patch = changes();
      if (!Object.keys(patch).length) return;
      if (patch.description === "") {
        description.setAttribute("aria-invalid", "true");
        ui.message($("lines-status"), "error", "Line " + n + " needs a description", "Write what the line bills for, or remove the line.");
        return;
      }
      ui.busy(save, "Saving…", function () {
        return api.patch("/api/invoices/" + inv.id + "/lines/" + line.id, patch).then(function () {
          return reloadCurrent();
        }).then(function () {
          ui.showSuccess($("lines-status"), "Line " + n + " saved", "The total is " + fmt.money(state.current.total, state.current.currency) + " now.");
          var again = document.querySelector("#lines-body tr[data-line='" + line.id + "'] input[name=" + Object.keys(patch)[0] + "]");
          if (again) again.focus();
        }).catch(function (error) { ui.showError($("lines-status"), error, "Line " + n + " was not saved"); });
      });
    }
    save.addEventListener("click", saveLine);
    remove.addEventListener("click", function () {
      var cell = actions;
      ui.clear(cell);
      var yes = h("button", { type: "button", class: "btn btn-danger btn-compact" }, "Remove");
      var no = h("button", { type: "button", class: "btn btn-subtle btn-compact" }, "Keep");
      cell.appendChild(h("span", { class: "button-group", role: "group", "aria-label": "Confirm removing line " + n },
        h("span", null, line.kind === "manual" ? "Remove?" : "Remove? Its worklogs become unbilled."), yes, no));
      yes.focus();
      no.addEventListener("click", function () { renderLines(state.current); });
      yes.addEventListener("click", function () {
        ui.busy(yes, "Removing…", function () {
          return api.del("/api/invoices/" + inv.id + "/lines/" + line.id).then(function () { return reloadCurrent(); }).then(function () {
            ui.showSuccess($("lines-status"), "Line removed", "“" + line.description + "” is off the draft; the total is " + fmt.money(state.current.total, state.current.currency) + ".");
            $("new-line-description").focus();
          }).catch(function (error) { renderLines(state.current); ui.showError($("lines-status"), error, "The line was not removed"); });
        });
      });
    });
    return row;
  }

  $("add-line-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var form = event.target, inv = state.current;
    var body = { description: form.description.value.trim(), hours: form.hours.value, rate: form.rate.value };
    if (!body.description || body.hours === "" || body.rate === "") {
      ["description", "hours", "rate"].forEach(function (name) { if (!String(body[name])) form[name].setAttribute("aria-invalid", "true"); });
      ui.message($("lines-status"), "error", "Check the new line", "A line needs a description, hours and a rate.");
      return;
    }
    ui.busy($("add-line"), "Adding…", function () {
      return api.post("/api/invoices/" + inv.id + "/lines", body).then(function () { return reloadCurrent(); }).then(function () {
        form.reset();
        form.querySelectorAll("[aria-invalid]").forEach(function (i) { i.removeAttribute("aria-invalid"); });
        ui.showSuccess($("lines-status"), "Line added", "“" + body.description + "”: the total is " + fmt.money(state.current.total, state.current.currency) + " now.");
        form.description.focus();
      }).catch(function (error) { ui.showError($("lines-status"), error, "The line was not added"); });
    });
  });

  /* --- dates and notes -------------------------------------------------------------------- */

  function renderDetails(inv) {
    var form = $("details-form"), draft = inv.status === "draft";
    form.issue_date.value = inv.issue_date;
    form.due_date.value = inv.due_date;
    form.notes.value = inv.notes || "";
    [form.issue_date, form.due_date, form.notes].forEach(function (input) { input.disabled = !draft; input.removeAttribute("aria-invalid"); });
    $("details-actions").hidden = !draft;
    $("details-title").textContent = draft ? "Dates and notes" : "Dates and notes (locked)";
  }

  $("details-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var form = event.target, inv = state.current, patch = {};
    if (form.issue_date.value && form.issue_date.value !== inv.issue_date) patch.issue_date = form.issue_date.value;
    if (form.due_date.value && form.due_date.value !== inv.due_date) patch.due_date = form.due_date.value;
    if (form.notes.value !== (inv.notes || "")) patch.notes = form.notes.value || null;
    if (!Object.keys(patch).length) {
      ui.message($("details-status"), "info", "Nothing to save", "The dates and notes are as saved.");
      return;
    }
    ui.busy($("details-save"), "Saving…", function () {
      return api.patch("/api/invoices/" + inv.id, patch).then(function (saved) {
        renderDetail(saved);
        ui.showSuccess($("details-status"), "Saved", "Issue date " + fmt.day(saved.issue_date) + ", due " + fmt.day(saved.due_date) + (saved.notes ? ", with notes." : "."));
      }).catch(function (error) { ui.showError($("details-status"), error, "The dates and notes were not saved"); });
    });
  });

  $("back-to-list").addEventListener("click", function () { showList().then(function () { $("new-invoice").focus(); }); });

  /* --- start ------------------------------------------------------------------------------ */

  (function presetFilters() {
    var form = $("invoice-filters");
    ["status", "client_id", "budget_id"].forEach(function (name) {
      var value = W360.page.param(name);
      if (value) state.filters[name] = value;
    });
    return form;
  })();

  Promise.all([loadReferences(), refreshConnection()]).then(function () {
    var form = $("invoice-filters");
    form.status.value = state.filters.status;
    form.client_id.value = state.filters.client_id;
    form.budget_id.value = state.filters.budget_id;
    var invoiceId = W360.page.param("invoice_id");
    if (invoiceId) return showDetail(invoiceId);
    return loadList().then(function () {
      var budgetId = W360.page.param("new_for_budget");
      if (budgetId) openGenerator(budgetId);
    });
  }).catch(function (error) { ui.showError(pageStatus, error, "The invoices page could not be loaded"); });
})();
