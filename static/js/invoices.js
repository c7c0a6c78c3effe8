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
    filters: { status: "", client_id: "", budget_id: "", q: "" },
    sort: { key: "", desc: false },  // "": newest first
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

  var SORT_LABELS = { number: "invoice number", client: "client", issue_date: "issue date", due_date: "due date", total: "total", balance: "balance" };

  /* The Status choice as the API's filter: ours, QuickBooks' (qbo:…) or overdue. */
  function statusQuery(value) {
    if (!value) return {};
    if (value === "overdue") return { overdue: true };
    if (value.indexOf("qbo:") === 0) return { quickbooks_status: value.slice(4) };
    return { status: value };
  }

  function listQuery() {
    var f = state.filters;
    var query = Object.assign({ limit: PAGE_SIZE, cursor: state.cursors[state.pageIndex], client_id: f.client_id, budget_id: f.budget_id, q: f.q }, statusQuery(f.status));
    if (state.sort.key) { query.sort = state.sort.key; query.order = state.sort.desc ? "desc" : "asc"; }
    return query;
  }

  function dueCell(inv) {
    var q = inv.quickbooks;
    var due = q && q.due_date ? q.due_date : inv.due_date;
    var cell = h("td", null, h("span", { class: "cell-main" }, fmt.day(due)));
    if (inv.days_overdue) {
      cell.appendChild(h("span", { class: "cell-sub overdue", "data-overdue-days": inv.days_overdue },
        "Overdue by " + plural(inv.days_overdue, "day")));
    } else if (q && q.due_date && q.due_date !== inv.due_date) {
      cell.appendChild(h("span", { class: "cell-sub" }, "Changed in QuickBooks"));
    }
    return cell;
  }

  function renderList(page) {
    var body = ui.clear($("invoices-body"));
    page.items.forEach(function (inv) {
      var open = h("button", { type: "button", class: "btn btn-link", "data-invoice": inv.id }, inv.number || "Draft #" + inv.id);
      open.addEventListener("click", function () { showDetail(inv.id); });
      var draft = inv.status !== "finalized";
      body.appendChild(h("tr", { "data-invoice": inv.id },
        h("td", null, h("span", { class: "cell-main" }, open), h("span", { class: "cell-sub" }, inv.budget.name + " · " + fmt.day(inv.period_start) + " – " + fmt.day(inv.period_end))),
        h("td", { class: "cell-client" }, inv.client.name),
        h("td", { class: "hide-narrow" }, fmt.day(inv.issue_date)),
        dueCell(inv),
        h("td", null, localLozenge(inv.status)),
        h("td", null, quickbooksStatus(inv)),
        h("td", { class: "numeric", "data-total": inv.total }, fmt.money(inv.total, inv.currency)),
        h("td", { class: "numeric hide-narrow" }, draft ? "—" : fmt.money(inv.paid, inv.currency)),
        h("td", { class: "numeric", "data-balance": inv.balance || "" }, draft ? "—" : fmt.money(inv.balance, inv.currency))));
    });
    renderTotals(page.totals || []);
    var empty = ui.clear($("invoices-empty"));
    var filtered = state.filters.status || state.filters.client_id || state.filters.budget_id || state.filters.q;
    if (!page.items.length) {
      empty.appendChild(h("div", { class: "empty" },
        h("h3", null, filtered ? "No invoices match these filters" : "No invoices yet"),
        h("p", null, filtered
          ? (state.filters.q ? "No invoice number contains \u201c" + state.filters.q + "\u201d here. " : "") + "Clear the filters to see every invoice."
          : "Make the first one from a budget: its assigned, billable worklogs become a draft you can review."),
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

  /* One row per currency, for every invoice the filter finds (not just this page). */
  function renderTotals(totals) {
    var foot = ui.clear($("invoices-totals"));
    totals.forEach(function (t) {
      var label = "Total" + (totals.length > 1 ? " in " + t.currency : "") + ": " + plural(t.count, "invoice");
      var balance = h("td", { class: "numeric", "data-totals-balance": t.balance }, fmt.money(t.balance, t.currency));
      if (Number(t.overdue) > 0) balance.appendChild(h("span", { class: "cell-sub overdue" }, fmt.money(t.overdue, t.currency) + " overdue"));
      foot.appendChild(h("tr", { "data-currency": t.currency },
        // Spans that follow the columns, so that hiding Issued on a narrow frame keeps the
        // figures under their headers.
        h("th", { scope: "row", colspan: "2", class: "totals-label" }, label),
        h("td", { class: "hide-narrow" }),
        h("td", { colspan: "3" }),
        h("td", { class: "numeric", "data-totals-total": t.total }, fmt.money(t.total, t.currency)),
        h("td", { class: "numeric hide-narrow", "data-totals-paid": t.paid }, fmt.money(t.paid, t.currency)),
        balance));
    });
  }

  /* Column headers that sort on the server: a button each, aria-sort on the sorted one. */
  function setUpSorting() {
    document.querySelectorAll("#invoices-table th[data-sort]").forEach(function (th) {
      var key = th.getAttribute("data-sort");
      var label = th.textContent;
      var button = h("button", { type: "button", class: "sort-button", "data-sort-key": key }, label, h("span", { class: "sort-icon", "aria-hidden": "true" }));
      ui.clear(th).appendChild(button);
      button.addEventListener("click", function () {
        state.sort = state.sort.key === key ? { key: key, desc: !state.sort.desc } : { key: key, desc: false };
        state.cursors = [null];
        state.pageIndex = 0;
        loadList().then(function () { button.focus(); });
      });
    });
    showSort();
  }

  function showSort() {
    var sort = state.sort;
    document.querySelectorAll("#invoices-table th[data-sort]").forEach(function (th) {
      var on = th.getAttribute("data-sort") === sort.key;
      th.setAttribute("aria-sort", on ? (sort.desc ? "descending" : "ascending") : "none");
      var button = th.querySelector("button");
      if (button) {
        button.setAttribute("title", "Sort by " + SORT_LABELS[th.getAttribute("data-sort")] + (on && !sort.desc ? ", descending" : ""));
        button.querySelector(".sort-icon").textContent = on ? (sort.desc ? "\u25BC" : "\u25B2") : "";
      }
    });
    $("invoices-caption").textContent = sort.key
      ? "Invoices by " + SORT_LABELS[sort.key] + ", " + (sort.desc ? "descending" : "ascending")
      : "Invoices, newest first";
  }

  /* Only the latest answer is shown: quick clicks on the headers or the pager must not
     leave an older page (another sort) on screen after a newer one. */
  var listRequests = 0;

  function loadList() {
    var table = $("invoices-table"), mine = ++listRequests;
    // Rows on screen stay where they are (dimmed) while the next ones load: a spinner above
    // them would push the headers down under a second click.
    if (!$("invoices-body").rows.length) ui.loading($("invoices-status"), "Loading invoices…");
    table.setAttribute("aria-busy", "true");
    showSort();
    return api.get("/api/invoices", listQuery()).then(function (page) {
      if (mine !== listRequests) return;
      ui.clear($("invoices-status"));
      renderList(page);
    }).catch(function (error) {
      if (mine === listRequests) ui.showError($("invoices-status"), error, "Invoices could not be loaded");
    }).finally(function () { if (mine === listRequests) table.removeAttribute("aria-busy"); });
  }

  function applyFilters() {
    var form = $("invoice-filters");
    state.filters = { status: form.status.value, client_id: form.client_id.value, budget_id: form.budget_id.value, q: form.q.value.trim() };
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
  setUpSorting();

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
        var summary = plural(invoice.line_count, "line") + ", " + fmt.hours(invoice.hours) + ", " + fmt.money(invoice.total, invoice.currency) + ". ";
        if (capWarnings(invoice).length) {
          // The figures are in the warning under this message (#detail-caps), once.
          var over = ui.message($("detail-status"), "warning", "Draft created, over " + budget.name + "'s cap",
            summary + "Review the lines: Finalize Invoice asks you to confirm going over the cap.");
          over.setAttribute("data-cap-warning", "true");
          return;
        }
        ui.showSuccess($("detail-status"), "Draft created",
          summary + "Review the lines, hours, rates and amounts, then click Finalize Invoice.");
      }).catch(function (error) {
        var extra = generatorFix(error, budget);
        if (!extra) { ui.showError(status, error, "The invoice was not created"); return; }
        var box = ui.message(status, "error", "The invoice was not created", error.message, extra);
        box.setAttribute("data-error-code", error.code);
      });
    });
  });

  /* --- Generate's preview ----------------------------------------------------------------- */

  /* What Generate would make of `body` ({period_start, period_end, group_by}) for the
     budget, creating nothing: {line_count, worklog_count, hours, actual_hours, total,
     currency}, or Generate's own refusal (nothing_to_invoice, rate_missing). */
  function previewInvoice(budgetId, body) {
    return api.post("/api/budgets/" + budgetId + "/invoices/preview", body);
  }

  /* The generator form shows what Generate draft would make, as the budget, the period and
     the grouping are chosen: a dry run of Generate itself, so the figures are the draft's. */
  var PREVIEW_DELAY_MS = 300;
  var preview = { timer: null, sequence: 0 };

  function schedulePreview() {
    clearTimeout(preview.timer);
    preview.timer = setTimeout(showPreview, PREVIEW_DELAY_MS);
  }

  function showPreview() {
    var form = $("generator-form"), box = $("generator-preview");
    var budget = state.budgets[form.budget_id.value];
    var body = { period_start: form.period_start.value, period_end: form.period_end.value, group_by: form.group_by.value };
    var mine = ++preview.sequence;
    if ($("invoice-generator").hidden || !budget || !body.period_start || !body.period_end || body.period_end < body.period_start) {
      ui.clear(box);
      return;
    }
    ui.loading(box, "Working out what Generate draft would make…");
    previewInvoice(budget.id, body).then(function (p) {
      if (mine !== preview.sequence) return;
      var per = GROUP_BY[body.group_by] || body.group_by;
      ui.clear(box).appendChild(h("p", { "data-preview": "true" },
        h("strong", null, "Generate draft would make " + plural(p.line_count, "line") + " (one per " + per + ") from " + plural(p.worklog_count, "worklog") + ": "),
        fmt.hours(p.hours) + " billed (" + fmt.hours(p.actual_hours) + " logged), " + fmt.money(p.total, p.currency) + ". Nothing is created until you click it."));
      // Past a cap: said before the draft exists, with the figures Finalize will show.
      if ((p.cap_warnings || []).length) {
        ui.message(box.appendChild(h("div", { "data-preview-caps": "true" })), "warning", "This would go over " + budget.name + "'s cap", null,
          h("ul", { class: "cap-warnings" }, p.cap_warnings.map(function (w) { return h("li", { "data-cap-kind": w.kind }, w.message); })));
      }
    }).catch(function (error) {
      if (mine !== preview.sequence) return;
      var nothing = error.code === "nothing_to_invoice";
      ui.clear(box).appendChild(h("p", { class: "subtle", "data-preview-error": error.code || "" },
        nothing ? "Nothing to invoice in this period: " + error.message : "No preview: " + error.message));
    });
  }

  ["change", "input"].forEach(function (type) { $("generator-form").addEventListener(type, schedulePreview); });
  $("gen-whole").addEventListener("click", schedulePreview);
  new MutationObserver(function () { if (!$("invoice-generator").hidden) schedulePreview(); })
    .observe($("invoice-generator"), { attributes: true, attributeFilter: ["hidden"] });

  /* --- one invoice ----------------------------------------------------------------------- */

  /* What the detail view keeps beside state.current: the draft's row editors, what Sync with
     QB last said here, the poll that follows a sync running elsewhere, the lines whose
     worklogs are open. */
  var detail = { rows: [], outcome: null, syncing: null, poll: null, openLines: {} };
  var SYNC_POLL_MS = 1500;

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
    var another = !state.current || state.current.id !== inv.id;
    if (another || state.current.status !== inv.status) {
      ui.clear($("lines-status"));
      ui.clear($("details-status"));
    }
    if (another) forgetDetail();
    state.current = inv;
    var draft = inv.status === "draft";
    $("detail-title").textContent = invoiceName(inv);
    var badges = ui.clear($("detail-badges"));
    badges.appendChild(localLozenge(inv.status));
    if (!draft) badges.appendChild(quickbooksStatus(inv));
    if (!$("confirm-dialog") || another) ui.clear($("detail-confirm"));
    renderActions(inv);
    renderFacts(inv);
    renderDrift(inv);
    renderCapWarnings(inv);
    renderQuickBooks(inv);
    renderLines(inv);
    renderDetails(inv, another);
  }

  /* Leaving one invoice for another (or the list): nothing of it follows. */
  function forgetDetail() {
    stopSyncPoll();
    detail.outcome = null;
    detail.syncing = null;
    detail.openLines = {};
    detail.rows = [];
    detail.detailsSaved = null;
  }

  function syncState(inv) { return (inv.quickbooks && inv.quickbooks.sync_state) || "not_started"; }

  function renderActions(inv) {
    var actions = ui.clear($("detail-actions"));
    if (inv.status === "draft") {
      actions.appendChild(h("button", { type: "button", class: "btn btn-primary edit-only", id: "finalize", onclick: startFinalize }, "Finalize Invoice"));
      actions.appendChild(h("button", { type: "button", class: "btn btn-subtle edit-only", id: "delete-draft", onclick: confirmDelete }, "Delete draft"));
      return;
    }
    // Once synced, Sync with QB has nothing left to do (syncing again answers the same
    // QuickBooks invoice): following the invoice there, Refresh status, is what is left.
    if (synced(inv)) {
      var settled = ["paid", "voided", "deleted"].indexOf(inv.quickbooks.status) >= 0;
      var refresh = h("button", { type: "button", class: "btn" + (settled ? "" : " btn-primary"), id: "refresh-status" }, "Refresh status");
      refresh.addEventListener("click", function () { refreshStatus(refresh); });
      actions.appendChild(refresh);
      return;
    }
    var running = syncState(inv) === "in_progress" || detail.syncing === inv.id;
    var sync = h("button", { type: "button", class: "btn btn-primary edit-only", id: "sync", disabled: running || null, "aria-busy": running ? "true" : null }, running ? "Syncing…" : "Sync with QB");
    sync.addEventListener("click", function () { syncInvoice(sync); });
    actions.appendChild(sync);
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
    fact(list, "Total", fmt.money(inv.total, inv.currency) + (inv.total === null ? "" : " " + inv.currency), "detail-total");
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

  /* "ALPHA-12, Ada Morgan's 2.00 h on Nov 3, 2026": the work as people know it. */
  function workOf(d) {
    var who = personName(d.author);
    return (d.issue_key || "An issue") + ", " + (who ? who + "'s " : "") + fmt.hours(d.hours) + " on " + fmt.day(d.started_on);
  }

  function renderDrift(inv) {
    var box = ui.clear($("detail-drift"));
    if (!inv.drift || !inv.drift.length) return;
    var updated = inv.drift.filter(function (d) { return d.change === "updated"; }).length;
    var deleted = inv.drift.length - updated;
    var items = h("ul", { id: "drift-list" });
    inv.drift.forEach(function (d) {
      var line = lineOfWorklog(inv, d.worklog_id);
      var what = d.change === "deleted"
        ? "was deleted in Jira"
        : "was changed in Jira" + (d.hours_now && d.hours_now !== d.hours ? ": " + fmt.hours(d.hours_now) + " now" : "");
      var where = [line ? "line “" + line.description + "”" : null, "noticed " + fmt.day(d.detected_at)].filter(Boolean).join("; ");
      items.appendChild(h("li", { "data-worklog": d.worklog_id }, workOf(d) + ", " + what + " (" + where + ")."));
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
    renderSyncStatus(inv);
    if (inv.status === "draft") {
      body.appendChild(h("p", { class: "subtle", id: "qbo-summary" }, "Only finalized invoices can be synced. Review the lines, then click Finalize Invoice; Sync with QB comes next."));
      return;
    }
    if (!synced(inv) && syncState(inv) === "in_progress") {
      body.appendChild(h("p", { id: "qbo-summary" }, "Being created in QuickBooks for " + inv.client.name + "'s QuickBooks customer, with invoice number " + inv.number + "."));
      return;
    }
    if (!synced(inv)) {
      body.appendChild(h("p", { id: "qbo-summary" }, qbo.statusLozenge("not_synced"), " ",
        "Not in QuickBooks yet. Sync with QB creates it for " + inv.client.name + "'s QuickBooks customer, with invoice number " + inv.number + ", its lines, hours (Qty), rates and amounts" +
        (inv.notes ? ", and the notes as the message to the customer." : ".")));
      return;
    }
    var list = h("dl", { class: "facts", id: "qbo-facts" });
    fact(list, "QuickBooks invoice", q.doc_number || q.invoice_id, "qbo-doc-number");
    list.appendChild(h("div", null, h("dt", null, "Status in QuickBooks"), h("dd", { id: "qbo-status" }, qbo.statusLozenge(q.status))));
    fact(list, "Total", fmt.money(q.total, inv.currency), "qbo-total");
    fact(list, "Paid", fmt.money(q.paid, inv.currency), "qbo-paid");
    fact(list, "Balance", fmt.money(q.balance, inv.currency), "qbo-balance");
    if (q.synced_at) fact(list, "Synced", fmt.day(q.synced_at) + " " + new Date(q.synced_at).toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" }));
    if (q.refreshed_at) fact(list, "Status read", fmt.day(q.refreshed_at) + " " + new Date(q.refreshed_at).toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" }), "qbo-refreshed");
    body.appendChild(list);
    if (q.status !== "deleted" && !fmt.moneyHidden()) body.appendChild(customerCopy(inv, q));
    if (inv.notes && Array.from(inv.notes.trim()).length > NOTES_MAX) {
      body.appendChild(h("p", { class: "subtle", id: "qbo-notes-cut" }, "QuickBooks prints the first " + NOTES_MAX.toLocaleString() +
        " characters of the notes (its limit); this invoice was finalized with longer notes, so they end with “…” there."));
    }
    if (q.total && Number(q.total) !== Number(inv.total)) {
      ui.message(body.appendChild(h("div")), "warning", "The total differs in QuickBooks",
        "QuickBooks says " + fmt.money(q.total, inv.currency) + ", this invoice " + fmt.money(inv.total, inv.currency) + ": the invoice was edited in QuickBooks. Paid and balance follow QuickBooks.");
    }
    if (q.status === "voided" || q.status === "deleted") {
      ui.message(body.appendChild(h("div")), "warning", q.status === "voided" ? "Voided in QuickBooks" : "Deleted in QuickBooks",
        "Nothing is owed on it in QuickBooks any more. If the client should still pay for this work, bill it again from QuickBooks or with a new invoice.");
    }
    var payments = q.payments || [];
    body.appendChild(h("h4", null, "Payments"));
    if (!payments.length) {
      body.appendChild(h("p", { class: "subtle", id: "payments-empty" }, "No payment recorded in QuickBooks yet. Payments appear here when they are recorded in QuickBooks (click Refresh status to read them now)."));
    } else {
      var rows = h("tbody", { id: "payments-body" });
      payments.forEach(function (p) {
        rows.appendChild(h("tr", null, h("td", null, fmt.day(p.date)), h("td", { class: "numeric" }, fmt.money(p.amount, inv.currency)), h("td", { class: "subtle" }, paymentNote(p))));
      });
      body.appendChild(h("div", { class: "table-wrap" }, h("table", { class: "ds-table", id: "payments-table" },
        h("thead", null, h("tr", null, h("th", { scope: "col" }, "Date"), h("th", { scope: "col", class: "numeric" }, "Amount"), h("th", { scope: "col" }, "Reference"))),
        rows)));
    }
  }

  /* The invoice as the customer sees it: QuickBooks' PDF, and the invoice in QuickBooks.
     The PDF opens from a single-use link the API makes (no Jira token in a URL); the Forge
     door opens both through Jira's router, which asks before leaving Jira. */
  function customerCopy(inv, q) {
    var box = h("div", { id: "qbo-copy" });
    var row = h("div", { class: "actions" });
    var status = h("div", { id: "qbo-copy-status", "aria-live": "polite" });
    var pdf = h("button", { type: "button", class: "btn", id: "download-pdf" }, "Download PDF");
    pdf.addEventListener("click", function () {
      ui.clear(status);
      ui.busy(pdf, "Opening the PDF…", function () {
        return api.post("/api/invoices/" + inv.id + "/pdf-link").then(function (link) {
          return W360.page.open(link.url).then(null, function () {
            ui.message(status, "info", "The PDF was not opened",
              "You chose not to leave Jira. Click Download PDF when you are ready: it opens QuickBooks' PDF of invoice " + (q.doc_number || inv.number) + " in a new tab.");
          });
        }).catch(function (error) { ui.showError(status, error, "The PDF could not be opened"); });
      });
    });
    row.appendChild(pdf);
    if (q.url) {
      var open = h("a", { class: "btn btn-link", id: "open-in-quickbooks", href: q.url, target: "_blank", rel: "noopener noreferrer" }, "Open in QuickBooks");
      open.addEventListener("click", function (event) {
        if (W360.door !== "forge") return; // a plain new tab
        event.preventDefault();
        W360.page.open(q.url).then(null, function () { /* stayed in Jira: nothing to say */ });
      });
      row.appendChild(open);
    }
    box.appendChild(row);
    box.appendChild(status);
    return box;
  }

  /* How the payer knows the payment (its reference, its method), when QuickBooks says;
     never QuickBooks' own payment id, which no one knows. */
  function paymentNote(p) {
    return [p.reference ? "Ref. " + p.reference : null, p.method].filter(Boolean).join(" · ");
  }

  /* The one place a sync's state shows (#qbo-sync-status): a sync running, what the last
     Sync with QB here said, the last failure QuickBooks gave, or else a connection that
     keeps the invoice from syncing; never two of them. */
  function renderSyncStatus(inv) {
    var box = $("qbo-sync-status");
    if (detail.syncing === inv.id) return; // this page's own progress box stays
    ui.clear(box);
    if (inv.status !== "finalized") return;
    var q = inv.quickbooks || {};
    if (syncState(inv) === "in_progress") {
      syncProgress(box, inv, "Syncing with QuickBooks…", q.sync_started_at
        ? "A sync started at " + new Date(q.sync_started_at).toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" }) + " is still running. This page shows how it ends by itself."
        : "This page shows how it ends by itself.");
      startSyncPoll(inv);
      return;
    }
    var outcome = detail.outcome && detail.outcome.invoiceId === inv.id ? detail.outcome : null;
    if (outcome && outcome.error) {
      qbo.showError(box, outcome.error, "The invoice was not synced", { client: inv.client, invoice: inv });
      return;
    }
    if (outcome && outcome.synced && synced(inv)) { showSynced(box, inv); return; }
    if (q.error) {
      qbo.showError(box, q.error, synced(inv) ? "The last exchange with QuickBooks failed" : "The last sync with QuickBooks did not finish", { client: inv.client, invoice: inv })
        .setAttribute("data-last-error", "true");
      return;
    }
    var c = state.connection;
    if (c && (c.state === "expired" || c.state === "disconnected") && !synced(inv)) {
      var warn = { code: c.state === "expired" ? "quickbooks_reconnect_required" : "quickbooks_not_connected",
        message: c.state === "expired" ? "The QuickBooks connection has expired." : "QuickBooks is not connected." };
      var fix = qbo.fixFor(warn, { client: inv.client, invoice: inv });
      ui.message(box, "warning", warn.message, fix.text, fix.action ? h("div", { class: "button-group" }, fix.action) : null)
        .setAttribute("data-connection-warning", c.state);
    }
  }

  function syncProgress(box, inv, title, text) {
    var steps = h("ol", { class: "steps" },
      h("li", { class: "done" }, "Invoice " + inv.number + " is finalized"),
      h("li", { class: "todo" }, "Creating it in QuickBooks for " + inv.client.name + "'s customer, with " + plural(inv.line_count, "line")),
      h("li", { class: "todo" }, "Reading back its QuickBooks number and status"));
    var progress = ui.message(box, "info", title, text,
      h("div", null, h("div", { class: "loading" }, h("span", { class: "spinner", "aria-hidden": "true" }), "This takes a few seconds."), steps));
    progress.setAttribute("data-syncing", "true");
    return progress;
  }

  function showSynced(box, inv) {
    var q = inv.quickbooks || {};
    var label = (qbo.STATUS[q.status] || [q.status])[0];
    var done = ui.showSuccess(box, "Synced with QuickBooks",
      "Invoice " + (q.doc_number || inv.number) + " is in QuickBooks for " + inv.client.name + " (" + label + ", balance " + fmt.money(q.balance, inv.currency) + ").");
    done.setAttribute("data-synced", q.doc_number || "");
  }

  function syncInvoice(button) {
    var inv = state.current, box = $("qbo-sync-status");
    ui.clear($("detail-status"));
    detail.outcome = null;
    detail.syncing = inv.id;
    syncProgress(box, inv, "Syncing with QuickBooks…", null);
    document.getElementById("detail-quickbooks").scrollIntoView({ block: "nearest" });
    return ui.busy(button, "Syncing…", function () {
      return api.post("/api/invoices/" + inv.id + "/sync").then(function () {
        detail.syncing = null;
        detail.outcome = { invoiceId: inv.id, synced: true };
        return reloadCurrent().then(function () {
          var focusTarget = $("refresh-status") || $("sync");
          if (focusTarget) focusTarget.focus();
        });
      }).catch(function (error) {
        detail.syncing = null;
        if (error.code === "quickbooks_sync_in_progress") {
          // Another tab or person is syncing it: follow that sync instead of failing.
          return reloadCurrent().then(function () {
            if (state.current && synced(state.current)) {
              detail.outcome = { invoiceId: inv.id, synced: true };
              renderSyncStatus(state.current);
            }
          });
        }
        detail.outcome = { invoiceId: inv.id, error: error };
        return refreshConnection().then(reloadCurrent).catch(function () { if (state.current) renderDetail(state.current); });
      });
    });
  }

  /* A sync running in another request (a reload mid-sync, another tab, another person):
     the invoice is read again until it ends, then the page shows how by itself. */
  function startSyncPoll(inv) {
    if (detail.poll && detail.poll.invoiceId === inv.id) return;
    stopSyncPoll();
    var poll = { invoiceId: inv.id, timer: null };
    detail.poll = poll;
    poll.timer = setTimeout(function () { pollSync(poll); }, SYNC_POLL_MS);
  }

  function pollSync(poll) {
    api.get("/api/invoices/" + poll.invoiceId).then(function (inv) {
      if (detail.poll !== poll || !state.current || state.current.id !== poll.invoiceId) return;
      if (syncState(inv) === "in_progress") {
        poll.timer = setTimeout(function () { pollSync(poll); }, SYNC_POLL_MS);
        return;
      }
      detail.poll = null;
      detail.outcome = synced(inv) ? { invoiceId: inv.id, synced: true } : null;
      renderDetail(inv);
    }).catch(function () {
      if (detail.poll === poll) poll.timer = setTimeout(function () { pollSync(poll); }, SYNC_POLL_MS * 2);
    });
  }

  function stopSyncPoll() {
    if (detail.poll) clearTimeout(detail.poll.timer);
    detail.poll = null;
  }

  function refreshStatus(button) {
    var status = $("qbo-sync-status");
    return ui.busy(button, "Reading QuickBooks…", function () {
      return api.post("/api/invoices/" + state.current.id + "/refresh").then(function (inv) {
        detail.outcome = null;
        renderDetail(inv);
        var q = inv.quickbooks || {};
        var label = (qbo.STATUS[q.status] || [q.status])[0];
        ui.showSuccess(status, "Status read from QuickBooks", label + ": paid " + fmt.money(q.paid, inv.currency) + ", balance " + fmt.money(q.balance, inv.currency) + ".");
        var again = $("refresh-status");
        if (again) again.focus();
      }).catch(function (error) { qbo.showError(status, error, "The status could not be read from QuickBooks", { client: state.current.client, invoice: state.current }); });
    });
  }

  function refreshConnection() {
    return api.get("/api/quickbooks/connection").then(function (c) { state.connection = c; }).catch(function () { state.connection = null; });
  }

  /* --- confirmations ---------------------------------------------------------------------- */

  /* An inline alertdialog above the invoice. `run` does the work (its errors are shown by
     itself); `next` runs once the dialog is gone, `dismissed` when it is cancelled. */
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
    function close() { if (box.parentNode) ui.clear(holder); }
    function dismiss() {
      close();
      if (options.dismissed) options.dismissed();
      if (options.returnFocus && document.body.contains(options.returnFocus)) options.returnFocus.focus();
    }
    box.addEventListener("keydown", function (e) { if (e.key === "Escape") dismiss(); });
    no.addEventListener("click", dismiss);
    yes.addEventListener("click", function () {
      ui.busy(yes, options.busy, function () {
        return Promise.resolve().then(options.run).then(function (result) {
          close();
          if (options.next) options.next(result);
        }, function (error) {
          close();
          if (options.dismissed) options.dismissed();
          throw error;
        });
      }).catch(function () { /* shown by run */ });
    });
    box.scrollIntoView({ block: "nearest" });
    yes.focus();
    return box;
  }

  /* Finalize Invoice: what is typed but not saved is saved first (after a confirmation
     that lists it), or, when it cannot be saved as typed, nothing happens but a message
     naming it. The confirmation then shows the saved total, and finalizing sends it:
     the API refuses if the draft's total is another by then, so the total confirmed is
     the total locked. */
  function startFinalize() {
    var unsaved = unsavedChanges();
    if (!unsaved.length) { confirmFinalize(null); return; }
    var problems = [];
    unsaved.forEach(function (change) { problems = problems.concat(change.problems()); });
    if (problems.length) {
      markProblems(problems);
      var list = h("ul", { id: "finalize-problems" }, problems.map(function (p) { return h("li", null, p.message); }));
      ui.message($("detail-status"), "error", "Not finalized: " + plural(problems.length, "change") + " cannot be saved as typed",
        "Finalizing saves what you typed first, and this cannot be saved. Correct it, or press Escape in the line to go back to the saved figures; then click Finalize Invoice again.", list)
        .setAttribute("data-error-code", "unsaved_changes_invalid");
      problems[0].input.focus();
      return;
    }
    var labels = unsaved.map(function (change) { return change.label; });
    var items = h("ul", { id: "unsaved-list" }, labels.map(function (text) { return h("li", null, text); }));
    var warnings = [];
    unsaved.forEach(function (change) { warnings = warnings.concat(change.warnings()); });
    confirmBox({
      title: "Save your changes first?",
      body: h("div", null,
        h("p", null, "These are typed but not saved. Finalizing locks the saved figures, so they are saved first; the confirmation that follows shows the total that will be locked."),
        items,
        warnings.length ? h("div", { class: "message message-warning", id: "unsaved-warnings" }, h("div", { class: "body" },
          h("div", { class: "title" }, "Check before saving"), h("ul", null, warnings.map(function (w) { return h("li", null, w); })))) : null),
      confirm: "Save and continue",
      busy: "Saving…",
      returnFocus: $("finalize"),
      run: function () { return saveAll(unsaved); },
      next: function () { confirmFinalize(labels); },
    });
  }

  function confirmFinalize(savedFirst) {
    var inv = state.current;
    var zero = inv.lines.filter(function (line) { return Number(line.amount) === 0; });
    setEditing(false);
    confirmBox({
      title: "Finalize this invoice?",
      body: h("div", null,
        savedFirst ? h("p", { id: "saved-first" }, "Your changes were saved (" + savedFirst.join("; ") + "): the total below includes them.") : null,
        h("p", null, "Finalizing gives it the next invoice number and locks it: its lines, hours, rates and amounts, and its " + plural(countWorklogs(inv), "worklog") + ", can no longer change."),
        h("ul", null,
          h("li", null, "Client: " + inv.client.name),
          h("li", { id: "finalize-total" }, "Total: " + fmt.money(inv.total, inv.currency) + " for " + fmt.hours(inv.hours)),
          h("li", null, "Due: " + fmt.day(inv.due_date))),
        zero.length ? h("div", { class: "message message-warning", id: "zero-lines" }, h("div", { class: "body" },
          h("div", { class: "title" }, plural(zero.length, "line") + " bill" + (zero.length === 1 ? "s" : "") + " nothing" + (inv.lines_next_cursor ? " (among the first " + inv.lines.length + " lines)" : "")),
          h("ul", null, zero.slice(0, 10).map(function (line) {
            return h("li", null, "Line " + (inv.lines.indexOf(line) + 1) + " “" + line.description + "”: " + fmt.hours(line.hours) + " at " + fmt.money(line.rate, inv.currency) + " = " + fmt.money(line.amount, inv.currency));
          })),
          h("p", null, "If the client should not see them, remove them first; if they should (work done for free), finalize."))) : null,
        h("p", null, "Only finalized invoices can be synced with QuickBooks."),
        capConfirmation(inv)),
      confirm: capWarnings(inv).length ? "Finalize over the cap" : "Finalize Invoice",
      busy: "Finalizing…",
      returnFocus: $("finalize"),
      dismissed: function () { setEditing(true); },
      run: function () {
        // The total confirmed is the total locked (409 invoice_total_changed otherwise), and
        // a cap is passed only once its figures were shown here.
        return api.post("/api/invoices/" + inv.id + "/finalize", Object.assign(finalizeBody(inv), { expected_total: inv.total })).then(function (finalized) {
          setEditing(true);
          renderDetail(finalized);
          ui.showSuccess($("detail-status"), "Invoice " + finalized.number + " finalized",
            "It is locked now, at " + fmt.money(finalized.total, finalized.currency) + ". Next: Sync with QB to create it in QuickBooks.");
          if ($("sync")) $("sync").focus();
        }).catch(function (error) {
          setEditing(true);
          if (error.code === "invoice_total_changed") {
            // The message says what changed and what to do; the page reads the draft again.
            ui.message($("detail-status"), "error", "The invoice was not finalized", error.message)
              .setAttribute("data-error-code", error.code);
            reloadCurrent().catch(function () {});
          } else {
            finalizeRefused(error);
          }
          throw error;
        });
      },
    });
  }

  /* While the Finalize confirmation is open nothing on the draft can be typed: what it
     shows is what gets locked. */
  function setEditing(on) {
    var reader = document.documentElement.classList.contains("w360-reader");
    document.querySelectorAll("#invoice-detail fieldset.edit-fields").forEach(function (f) { f.disabled = !on || reader; });
    var form = $("add-line-form");
    Array.prototype.forEach.call(form.elements, function (el) { el.disabled = !on; });
  }

  /* --- budget caps ------------------------------------------------------------------------ */

  function capWarnings(inv) { return inv.cap_warnings || []; }

  function capList(inv) {
    return h("ul", { class: "cap-warnings" }, capWarnings(inv).map(function (w) {
      return h("li", { "data-cap-kind": w.kind }, w.message);
    }));
  }

  /* A draft over its budget's cap says so before anyone clicks Finalize. */
  function renderCapWarnings(inv) {
    var box = ui.clear($("detail-caps"));
    if (!capWarnings(inv).length) return;
    var draft = inv.status === "draft";
    var shown = ui.message(box, "warning",
      (draft ? "This draft goes over " : "This invoice took ") + inv.budget.name + (draft ? "'s cap" : " past its cap"),
      draft ? "Finalize Invoice asks you to confirm going over the cap. To stay within it, take hours or lines off the draft first." : null,
      capList(inv));
    shown.setAttribute("data-cap-warning", "true");
  }

  function capConfirmation(inv) {
    if (!capWarnings(inv).length) return null;
    return h("div", { class: "cap-confirm", id: "confirm-caps" },
      h("p", null, h("strong", null, "This goes over the budget's cap. "), "Finalize only if the client agreed to pay past it:"),
      capList(inv));
  }

  /* The cap may be passed only once its figures were shown in the confirmation. */
  function finalizeBody(inv) {
    return capWarnings(inv).length ? { accept_over_cap: true } : {};
  }

  function finalizeRefused(error) {
    if (error.code !== "over_budget_cap") {
      ui.showError($("detail-status"), error, "The invoice was not finalized");
      return;
    }
    // The figures changed since the page read them (another invoice was finalized): show
    // the new ones and ask again, once the closing confirmation is gone.
    var box = ui.message($("detail-status"), "warning", "Not finalized: the cap figures have changed",
      "Since this page read the invoice, another invoice of " + state.current.budget.name + " was finalized or its cap changed, and this one now goes over it. Check the new figures and confirm again, or cancel.");
    box.setAttribute("data-error-code", error.code);
    reloadCurrent().then(function () { if (state.current.status === "draft") confirmFinalize(); });
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
          forgetDetail();
          return showList().then(function () {
            ui.showSuccess(pageStatus, "Draft deleted", "The draft for " + inv.budget.name + " was deleted; its worklogs are free again.");
            $("new-invoice").focus();
          });
        }).catch(function (error) { ui.showError($("detail-status"), error, "The draft was not deleted"); throw error; });
      },
    });
  }

  function countWorklogs(inv) {
    return inv.worklog_count;
  }

  /* --- unsaved changes -------------------------------------------------------------------- */

  /* Everything typed on the draft and not saved: each row's line edit, the dates and notes,
     a new line not added yet. Each says what it is, what keeps it from being saved as typed
     (`problems`), what deserves a second look (`warnings`), and saves itself. */
  function unsavedChanges() {
    var inv = state.current;
    if (!inv || inv.status !== "draft" || $("invoice-detail").hidden) return [];
    var found = detail.rows.filter(function (r) { return r.dirty(); });
    var details = detailsChange();
    if (details) found.push(details);
    var added = newLineChange();
    if (added) found.push(added);
    return found;
  }

  function markProblems(problems) {
    problems.forEach(function (p) { markInvalid(p.input); });
  }

  function markInvalid(input) {
    input.setAttribute("aria-invalid", "true");
  }

  /* One after another, each as its own save would; the invoice is read once at the end. */
  function saveAll(changes) {
    return changes.reduce(function (done, change) {
      return done.then(function () { return change.save(); });
    }, Promise.resolve()).then(function () { return reloadCurrent(); });
  }

  function describeChanges(labels) {
    return labels.length === 1 ? labels[0] : labels.slice(0, -1).join(", ") + " and " + labels[labels.length - 1];
  }

  /* Leaving the draft (the list, a new invoice) with unsaved changes asks first. */
  function leaveDetail(go, where) {
    var unsaved = unsavedChanges();
    if (!unsaved.length) { go(); return; }
    confirmBox({
      title: "Leave without saving?",
      danger: true,
      body: h("div", null,
        h("p", null, "These are typed but not saved, and are lost if you " + where + ":"),
        h("ul", { id: "unsaved-list" }, unsaved.map(function (change) { return h("li", null, change.label); })),
        h("p", null, "Stay to save them (Enter in the line, or the Save buttons), or leave without them.")),
      confirm: "Leave without saving",
      cancel: "Stay",
      busy: "Leaving…",
      run: function () {
        unsaved.forEach(function (change) { change.discard(); });
        return Promise.resolve();
      },
      next: go,
    });
  }

  window.addEventListener("beforeunload", function (event) {
    if (!unsavedChanges().length) return;
    event.preventDefault();
    event.returnValue = ""; // the browser's own "Leave site?" question
  });

  // "New invoice" opens the generator, whose Generate shows the new draft in place of this
  // one: ask first. A capturing listener, so that the generator's own handler stays as is.
  $("new-invoice").addEventListener("click", function (event) {
    if (!unsavedChanges().length) return;
    event.stopImmediatePropagation();
    var button = event.currentTarget;
    leaveDetail(function () { button.click(); }, "start a new invoice");
  }, true);

  /* --- numbers typed on a line ------------------------------------------------------------ */

  var MAX_HOURS = 100000, MAX_RATE = 100000;
  var NOTES_MAX = 1000, INTERNAL_NOTE_MAX = 4000;

  /* A figure typed in a line: {value} when the API will take it, else {problem} saying
     why in words. `what` names the box ("Line 2's billed hours"). */
  function readFigure(raw, what, kind) {
    var text = String(raw).trim();
    var max = kind === "hours" ? MAX_HOURS : MAX_RATE;
    var example = kind === "hours" ? "7.50" : "150.00";
    if (text === "") return { problem: what + " is empty: type " + (kind === "hours" ? "the hours" : "the hourly rate") + ", 0 or more (for example " + example + ")." };
    if (/^-/.test(text)) return { problem: what + " cannot be negative (“" + text + "”): type 0 or more." };
    if (/^\d+,\d+$/.test(text)) return { problem: what + " “" + text + "” has a comma: type a dot for decimals (" + text.replace(",", ".") + ")." };
    if (!/^\d*\.?\d+$/.test(text) && !/^\d+\.$/.test(text)) {
      return { problem: what + ": “" + text + "” is not a number. Type digits with at most 2 decimals (for example " + example + ")." };
    }
    var decimals = text.indexOf(".") >= 0 ? text.length - text.indexOf(".") - 1 : 0;
    if (decimals > 2) {
      return { problem: what + ": “" + text + "” has " + decimals + " decimals; use at most 2 (for example " + Number(text).toFixed(2) + ")." };
    }
    var value = Number(text);
    if (value > max) {
      return { problem: what + ": " + value.toLocaleString() + " is more than " + max.toLocaleString() + (kind === "hours" ? " hours, the most one line can bill" : ", the highest hourly rate Worklog360 takes") + ". Check the figure." };
    }
    return { value: value.toFixed(2), number: value };
  }

  function sameFigure(raw, saved) {
    var text = String(raw).trim();
    return /^\d*\.?\d+$/.test(text) ? Number(text) === Number(saved) : text === String(saved);
  }

  function previewAmount(hours, rate) {
    return fmt.money(fmt.lineAmount(hours, rate), state.current.currency);
  }

  /* "Line 2 would bill nothing (0.00 h at $150.00)": asked about before it is saved. */
  function zeroWarning(name, hours, rate) {
    if (hours === null || rate === null || hours * rate !== 0) return null;
    return name + " would bill nothing: " + fmt.hours(hours) + " at " + fmt.money(rate, state.current.currency) + ".";
  }

  /* --- lines ------------------------------------------------------------------------------ */

  function renderLines(inv) {
    var draft = inv.status === "draft";
    // What is typed on the other rows survives this render (a save of one line reads the
    // invoice again): it is put back on the rows and stays unsaved, never silently lost.
    var carried = {};
    detail.rows.forEach(function (r) { if (r.invoiceId === inv.id && r.dirty()) carried[r.line.id] = r.typed(); });
    detail.rows = [];
    var body = ui.clear($("lines-body"));
    $("lines-help").textContent = draft
      ? "A draft: change a line's description, billed hours or rate and press Enter or Save; add lines for anything else to bill. Actual hours are what was logged in Jira."
      : "Locked by finalizing. Actual hours are what was logged in Jira; billed hours are after rounding and review.";
    inv.lines.forEach(function (line, index) {
      if (draft) {
        var row = editableRow(inv, line, index, carried[line.id]);
        detail.rows.push(row);
        body.appendChild(row.element);
      } else {
        body.appendChild(lockedRow(inv, line));
      }
      if (detail.openLines[line.id]) openLineWorklogs(inv, line, body.lastChild);
    });
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

  /* "Added by hand", or the line's worklogs as a button that lists them under the row. */
  function lineSource(inv, line, n) {
    if (line.kind === "manual") return h("span", { class: "cell-sub" }, "Added by hand");
    var count = (line.worklog_ids || []).length;
    var toggle = h("button", { type: "button", class: "btn btn-link cell-sub line-worklogs-toggle", "aria-expanded": "false",
      "aria-controls": "line-worklogs-" + line.id, "aria-label": "Show the " + plural(count, "worklog") + " of line " + n }, plural(count, "worklog"));
    toggle.addEventListener("click", function () {
      var row = toggle.closest("tr");
      if (detail.openLines[line.id]) closeLineWorklogs(line, row);
      else openLineWorklogs(inv, line, row);
    });
    return toggle;
  }

  var LINE_WORKLOGS_PAGE = 50;

  function openLineWorklogs(inv, line, row) {
    detail.openLines[line.id] = true;
    var toggle = row.querySelector(".line-worklogs-toggle");
    if (toggle) toggle.setAttribute("aria-expanded", "true");
    var cell = h("td", { colspan: "6" });
    var holder = h("tr", { class: "row-editor line-worklogs", id: "line-worklogs-" + line.id, "data-line-worklogs": line.id }, cell);
    row.after(holder);
    var rows = h("tbody");
    var table = h("table", { class: "ds-table worklogs-of-line", "aria-label": "Worklogs of “" + line.description + "”" },
      h("thead", null, h("tr", null,
        h("th", { scope: "col" }, "Issue"), h("th", { scope: "col" }, "Person"), h("th", { scope: "col" }, "Day"),
        h("th", { scope: "col", class: "numeric" }, "Logged"), h("th", { scope: "col", class: "numeric" }, "Billed"),
        h("th", { scope: "col" }, "Comment"))),
      rows);
    var status = h("div", { "aria-live": "polite" });
    var more = h("button", { type: "button", class: "btn btn-compact", hidden: true }, "Show more worklogs");
    cell.append(h("div", { class: "table-wrap" }, table), more, status);
    var shown = 0, total = (line.worklog_ids || []).length;
    function load(cursor) {
      ui.loading(status, "Reading the worklogs…");
      return api.get("/api/invoices/" + inv.id + "/lines/" + line.id + "/worklogs", { limit: LINE_WORKLOGS_PAGE, cursor: cursor }).then(function (page) {
        ui.clear(status);
        page.items.forEach(function (w) {
          rows.appendChild(h("tr", { "data-worklog": w.id },
            h("td", null, w.issue_key || "—", w.deleted_in_jira ? h("span", { class: "cell-sub" }, "Deleted in Jira") : null),
            h("td", null, personName(w.author)),
            h("td", null, fmt.day(w.started_on)),
            h("td", { class: "numeric" }, fmt.hours(w.actual_hours)),
            h("td", { class: "numeric" }, fmt.hours(w.hours)),
            h("td", { class: "subtle" }, w.comment || "")));
        });
        shown += page.items.length;
        more.hidden = !page.next_cursor;
        more.textContent = "Show more worklogs (" + shown + " of " + total + " shown)";
        more.onclick = function () { ui.busy(more, "Loading…", function () { return load(page.next_cursor); }); };
      }).catch(function (error) { ui.showError(status, error, "The worklogs could not be read"); });
    }
    load(null);
  }

  function closeLineWorklogs(line, row) {
    delete detail.openLines[line.id];
    var holder = $("line-worklogs-" + line.id);
    if (holder) holder.remove();
    var toggle = row.querySelector(".line-worklogs-toggle");
    if (toggle) { toggle.setAttribute("aria-expanded", "false"); toggle.focus(); }
  }

  function lockedRow(inv, line) {
    var n = inv.lines.indexOf(line) + 1;
    return h("tr", { "data-line": line.id },
      h("td", null, h("span", { class: "cell-main" }, line.description), lineSource(inv, line, n)),
      h("td", { class: "numeric hide-narrow" }, line.kind === "manual" ? "—" : fmt.hours(line.actual_hours)),
      h("td", { class: "numeric" }, fmt.hours(line.hours)),
      h("td", { class: "numeric" }, fmt.money(line.rate, inv.currency)),
      h("td", { class: "numeric" }, fmt.money(line.amount, inv.currency)),
      h("td", null));
  }

  /* One draft line, edited in place. Figures are checked here before anything is sent;
     only the box at fault is marked, no amount is ever shown from a figure that cannot be
     saved (the row then shows "—" and the saved amount), and what was typed stays typed
     until it is saved, undone (Escape) or the person leaves without it. */
  function editableRow(inv, line, index, carried) {
    var n = index + 1, name = "Line " + n;
    var description = h("input", { type: "text", name: "description", value: line.description, maxlength: "4000", "aria-label": "Description of line " + n });
    var hours = h("input", { type: "text", class: "num", name: "hours", value: line.hours, inputmode: "decimal", autocomplete: "off", "aria-label": "Billed hours of line " + n });
    var rate = h("input", { type: "text", class: "num", name: "rate", value: line.rate, inputmode: "decimal", autocomplete: "off", "aria-label": "Rate of line " + n });
    var amountText = h("span", { class: "cell-main", "data-amount-text": true }, fmt.money(line.amount, inv.currency));
    var amountNote = h("span", { class: "cell-sub", "data-saved-amount": true, hidden: true });
    var amount = h("td", { class: "numeric", "data-amount": true }, amountText, amountNote);
    var save = h("button", { type: "button", class: "btn btn-primary btn-compact edit-only", hidden: true, "aria-label": "Save line " + n }, "Save");
    var remove = h("button", { type: "button", class: "btn btn-subtle btn-compact edit-only", "aria-label": "Remove line " + n }, "Remove");
    var actions = h("td", { class: "row-actions" }, h("span", { class: "button-group" }, save, remove));
    var element = h("tr", { "data-line": line.id },
      h("td", null, description, lineSource(inv, line, n)),
      h("td", { class: "numeric hide-narrow" }, line.kind === "manual" ? "—" : fmt.hours(line.actual_hours)),
      h("td", { class: "numeric" }, hours),
      h("td", { class: "numeric" }, rate),
      amount, actions);
    var inputs = { description: description, hours: hours, rate: rate };
    var labels = { description: "description", hours: "billed hours", rate: "rate" };

    function typed() {
      return { description: description.value, hours: hours.value, rate: rate.value,
        invalid: Object.keys(inputs).filter(function (k) { return inputs[k].getAttribute("aria-invalid") === "true"; }) };
    }
    function changes() {
      var patch = {};
      if (description.value.trim() !== line.description) patch.description = description.value.trim();
      if (!sameFigure(hours.value, line.hours)) patch.hours = hours.value.trim();
      if (!sameFigure(rate.value, line.rate)) patch.rate = rate.value.trim();
      return patch;
    }
    function figures() {
      var h2 = readFigure(hours.value, name + "'s billed hours", "hours");
      var r2 = readFigure(rate.value, name + "'s rate", "rate");
      return { hours: h2, rate: r2 };
    }
    function problems() {
      var patch = changes(), found = [], f = figures();
      if ("description" in patch && patch.description === "") {
        found.push({ input: description, message: name + " needs a description: write what the line bills for, or remove the line." });
      }
      if ("hours" in patch && f.hours.problem) found.push({ input: hours, message: f.hours.problem });
      if ("rate" in patch && f.rate.problem) found.push({ input: rate, message: f.rate.problem });
      return found;
    }
    function warnings() {
      var patch = changes(), f = figures();
      if (!("hours" in patch) && !("rate" in patch)) return [];
      var w = zeroWarning(name, f.hours.problem ? null : f.hours.number, f.rate.problem ? null : f.rate.number);
      return w ? [w] : [];
    }
    function label() {
      var patch = changes();
      var parts = Object.keys(patch).map(function (k) {
        if (k === "description") return "description “" + patch.description + "”";
        return labels[k] + " " + (k === "rate" ? fmt.money(line.rate, inv.currency) : fmt.hours(line.hours)) + " → “" + patch[k] + "”";
      });
      return name + ": " + parts.join(", ");
    }
    function refresh() {
      var patch = changes(), dirty = Object.keys(patch).length > 0, f = figures();
      element.classList.toggle("changed", dirty);
      save.hidden = !dirty;
      var saved = fmt.money(line.amount, inv.currency);
      if (!dirty) {
        amountText.textContent = saved;
        amountNote.hidden = true;
      } else if (f.hours.problem || f.rate.problem) {
        amountText.textContent = "—";
        amountNote.textContent = "Saved: " + saved;
        amountNote.hidden = false;
      } else {
        amountText.textContent = previewAmount(f.hours.number, f.rate.number);
        amountNote.textContent = "Not saved · saved: " + saved;
        amountNote.hidden = !("hours" in patch || "rate" in patch);
      }
    }
    function undo() {
      description.value = line.description; hours.value = line.hours; rate.value = line.rate;
      Object.keys(inputs).forEach(function (k) { inputs[k].removeAttribute("aria-invalid"); });
      refresh();
    }
    /* Saved as one PATCH; the caller reads the invoice again. */
    function send() {
      var patch = changes(), body = {};
      Object.keys(patch).forEach(function (k) { body[k] = k === "description" ? patch[k] : readFigure(patch[k], "", k).value; });
      return api.patch("/api/invoices/" + inv.id + "/lines/" + line.id, body).catch(function (error) {
        refused(error, Object.keys(body));
        throw error;
      });
    }
    /* The API said no: the box it names is marked (only that one, in this row), the typed
       value stays for correcting, the row shows the saved amount. */
    function refused(error, sent) {
      var named = (error.fields || []).filter(function (f) { return inputs[f]; });
      if (!named.length && error.status === 422) {
        named = sent.filter(function (f) { return new RegExp("\\b" + f + "\\b", "i").test(error.message || ""); });
      }
      if (!named.length && error.status === 422 && sent.length === 1) named = sent;
      named.forEach(function (f) { markInvalid(inputs[f]); });
      ui.showError($("lines-status"), error, name + " was not saved", { markFields: false });
      amountText.textContent = "—";
      amountNote.textContent = "Saved: " + fmt.money(line.amount, inv.currency);
      amountNote.hidden = false;
    }
    function saveLine(confirmed) {
      var patch = changes();
      if (!Object.keys(patch).length) return;
      var found = problems();
      if (found.length) {
        markProblems(found);
        ui.message($("lines-status"), "error", name + " was not saved", found.map(function (p) { return p.message; }).join(" "))
          .setAttribute("data-error-code", "invalid_line");
        found[0].input.focus();
        return;
      }
      var warned = warnings();
      if (warned.length && !confirmed) {
        askFirst($("lines-status"), warned[0] + " Save anyway?", "Save anyway", function () { saveLine(true); }, hours);
        return;
      }
      ui.busy(save, "Saving…", function () {
        return send().then(function () {
          return reloadCurrent();
        }).then(function () {
          ui.showSuccess($("lines-status"), name + " saved", "The total is " + fmt.money(state.current.total, state.current.currency) + " now.");
          var again = document.querySelector("#lines-body tr[data-line='" + line.id + "'] input[name=" + Object.keys(patch)[0] + "]");
          if (again) again.focus();
        }).catch(function () { /* shown by refused() */ });
      });
    }
    [description, hours, rate].forEach(function (input) {
      input.addEventListener("input", function () { input.removeAttribute("aria-invalid"); refresh(); });
      input.addEventListener("keydown", function (e) {
        if (e.key === "Enter") { e.preventDefault(); saveLine(false); }
        if (e.key === "Escape") { e.preventDefault(); undo(); }
      });
    });
    save.addEventListener("click", function () { saveLine(false); });
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
    if (carried) {
      // Only what still differs from the line as saved now (a save of this very line
      // leaves nothing to carry, and shows the figures as the API gives them).
      if (carried.description.trim() !== line.description) description.value = carried.description;
      if (!sameFigure(carried.hours, line.hours)) hours.value = carried.hours;
      if (!sameFigure(carried.rate, line.rate)) rate.value = carried.rate;
      carried.invalid.forEach(function (k) { if (inputs[k].value !== String(line[k])) markInvalid(inputs[k]); });
    }
    refresh();
    return {
      element: element, line: line, invoiceId: inv.id,
      dirty: function () { return Object.keys(changes()).length > 0; },
      typed: typed, problems: problems, warnings: warnings, save: send, discard: undo,
      get label() { return label(); },
    };
  }

  /* A question in a status area before saving something unusual: "… Save anyway?" */
  function askFirst(container, text, yesLabel, onYes, focusBack) {
    var yes = h("button", { type: "button", class: "btn btn-primary btn-compact", "data-answer": "yes" }, yesLabel);
    var no = h("button", { type: "button", class: "btn btn-subtle btn-compact", "data-answer": "no" }, "Change it");
    var box = ui.message(container, "warning", "Check before saving", text, h("div", { class: "button-group" }, yes, no));
    box.setAttribute("data-ask", "true");
    yes.addEventListener("click", function () { ui.clear(container); onYes(); });
    no.addEventListener("click", function () { ui.clear(container); if (focusBack) focusBack.focus(); });
    yes.focus();
  }

  function newLineChange() {
    var form = $("add-line-form");
    if (form.hidden) return null;
    var typed = { description: form.description.value.trim(), hours: form.hours.value.trim(), rate: form.rate.value.trim() };
    if (!typed.description && !typed.hours && !typed.rate) return null;
    return {
      label: "A new line" + (typed.description ? " “" + typed.description + "”" : "") + ", not added yet",
      problems: function () { return newLineProblems(form).found; },
      warnings: function () { var w = newLineProblems(form).warning; return w ? [w] : []; },
      save: function () { return addLine(form); },
      discard: function () { form.reset(); clearInvalid(form); },
    };
  }

  function clearInvalid(form) {
    form.querySelectorAll("[aria-invalid]").forEach(function (i) { i.removeAttribute("aria-invalid"); });
  }

  function newLineProblems(form) {
    var found = [];
    if (!form.description.value.trim()) found.push({ input: form.description, message: "The new line needs a description: write what it bills for." });
    var hours = readFigure(form.hours.value, "The new line's hours", "hours");
    var rate = readFigure(form.rate.value, "The new line's rate", "rate");
    if (hours.problem) found.push({ input: form.hours, message: hours.problem });
    if (rate.problem) found.push({ input: form.rate, message: rate.problem });
    var warning = hours.problem || rate.problem ? null : zeroWarning("The new line", hours.number, rate.number);
    return { found: found, warning: warning, hours: hours, rate: rate };
  }

  function addLine(form) {
    var checked = newLineProblems(form);
    var body = { description: form.description.value.trim(), hours: checked.hours.value, rate: checked.rate.value };
    return api.post("/api/invoices/" + state.current.id + "/lines", body).then(function () {
      form.reset();
      clearInvalid(form);
      return body;
    }).catch(function (error) {
      var named = (error.fields || []).filter(function (f) { return form[f]; });
      named.forEach(function (f) { markInvalid(form[f]); });
      ui.showError($("lines-status"), error, "The line was not added", { markFields: false });
      throw error;
    });
  }

  $("add-line-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var form = event.target;
    function run(confirmed) {
      var checked = newLineProblems(form);
      if (checked.found.length) {
        markProblems(checked.found);
        ui.message($("lines-status"), "error", "The line was not added", checked.found.map(function (p) { return p.message; }).join(" "))
          .setAttribute("data-error-code", "invalid_line");
        checked.found[0].input.focus();
        return;
      }
      if (checked.warning && !confirmed) {
        askFirst($("lines-status"), checked.warning + " Add it anyway?", "Add anyway", function () { run(true); }, form.hours);
        return;
      }
      ui.busy($("add-line"), "Adding…", function () {
        return addLine(form).then(function (body) {
          return reloadCurrent().then(function () {
            ui.showSuccess($("lines-status"), "Line added", "“" + body.description + "”: the total is " + fmt.money(state.current.total, state.current.currency) + " now.");
            form.description.focus();
          });
        }).catch(function () { /* shown by addLine */ });
      });
    }
    run(false);
  });
  ["description", "hours", "rate"].forEach(function (name) {
    $("add-line-form")[name].addEventListener("input", function (e) { e.target.removeAttribute("aria-invalid"); });
  });

  /* --- dates and notes -------------------------------------------------------------------- */

  var DETAIL_FIELDS = ["issue_date", "due_date", "notes", "internal_note"];

  function savedDetails(inv) {
    return { issue_date: inv.issue_date, due_date: inv.due_date, notes: inv.notes || "", internal_note: inv.internal_note || "" };
  }

  function typedDetails() {
    var form = $("details-form"), typed = {};
    DETAIL_FIELDS.forEach(function (name) { typed[name] = form[name].value; });
    return typed;
  }

  function renderDetails(inv, another) {
    var form = $("details-form"), draft = inv.status === "draft";
    // Typed dates and notes survive a line being saved (which reads the invoice again).
    var keep = !another && draft && detail.detailsSaved && detailsPatch(detail.detailsSaved) !== null;
    var typed = keep ? typedDetails() : null;
    detail.detailsSaved = savedDetails(inv);
    DETAIL_FIELDS.forEach(function (name) {
      form[name].value = typed ? typed[name] : detail.detailsSaved[name];
      form[name].disabled = !draft;
      if (!typed) form[name].removeAttribute("aria-invalid");
    });
    $("details-actions").hidden = !draft;
    $("details-title").textContent = draft ? "Dates and notes" : "Dates and notes (locked)";
    $("d-notes-count").hidden = !draft;
    countNotes();
  }

  /* The changes typed in the form, or null when it is as saved. */
  function detailsPatch(saved) {
    var typed = typedDetails(), patch = {};
    if (typed.issue_date && typed.issue_date !== saved.issue_date) patch.issue_date = typed.issue_date;
    if (typed.due_date && typed.due_date !== saved.due_date) patch.due_date = typed.due_date;
    if (typed.notes !== saved.notes) patch.notes = typed.notes || null;
    if (typed.internal_note !== saved.internal_note) patch.internal_note = typed.internal_note || null;
    return Object.keys(patch).length ? patch : null;
  }

  var DETAIL_LABELS = { issue_date: "issue date", due_date: "due date", notes: "notes", internal_note: "internal note" };

  function detailsChange() {
    var inv = state.current;
    if (!detail.detailsSaved || inv.status !== "draft") return null;
    var patch = detailsPatch(detail.detailsSaved);
    if (!patch) return null;
    return {
      label: "Dates and notes: " + describeChanges(Object.keys(patch).map(function (k) { return DETAIL_LABELS[k]; })),
      problems: function () { return detailsProblems(patch); },
      warnings: function () { return detailsWarnings(patch); },
      save: function () { return sendDetails(patch); },
      discard: function () { renderDetails(state.current, true); },
    };
  }

  function detailsProblems(patch) {
    var form = $("details-form"), found = [];
    var typed = typedDetails();
    var notes = Array.from(typed.notes).length, internal = Array.from(typed.internal_note).length;
    if ("notes" in patch && notes > NOTES_MAX) {
      found.push({ input: form.notes, message: "The notes are " + notes.toLocaleString() + " characters and QuickBooks prints at most " + NOTES_MAX.toLocaleString() +
        " on the invoice: shorten them by " + (notes - NOTES_MAX).toLocaleString() + " (what is only for your team can go in the internal note)." });
    }
    if ("internal_note" in patch && internal > INTERNAL_NOTE_MAX) {
      found.push({ input: form.internal_note, message: "The internal note is " + internal.toLocaleString() + " characters: keep it to " + INTERNAL_NOTE_MAX.toLocaleString() + "." });
    }
    if (typed.issue_date && typed.due_date && typed.due_date < typed.issue_date) {
      found.push({ input: form.due_date, message: "The due date " + fmt.day(typed.due_date) + " is before the issue date " + fmt.day(typed.issue_date) + ": choose a due date on or after it." });
    }
    return found;
  }

  /* "Issue date Jan 1, 2099 is 73 years from now": dates that are almost always a typo. */
  function detailsWarnings(patch) {
    var warnings = [], today = fmt.isoDay(new Date());
    if (patch.issue_date) {
      var ahead = daysBetween(today, patch.issue_date);
      if (ahead > 60) warnings.push("The issue date " + fmt.day(patch.issue_date) + " is " + span(ahead) + " from now.");
      if (ahead < -365) warnings.push("The issue date " + fmt.day(patch.issue_date) + " is " + span(-ahead) + " ago.");
    }
    var issue = patch.issue_date || detail.detailsSaved.issue_date, due = patch.due_date || detail.detailsSaved.due_date;
    if ((patch.issue_date || patch.due_date) && daysBetween(issue, due) > 365) {
      warnings.push("The due date " + fmt.day(due) + " is " + span(daysBetween(issue, due)) + " after the issue date.");
    }
    return warnings;
  }

  function daysBetween(from, to) {
    return Math.round((new Date(to + "T00:00:00Z") - new Date(from + "T00:00:00Z")) / 86400000);
  }

  function span(days) {
    if (days >= 365) { var years = Math.floor(days / 365.25); return plural(Math.max(years, 1), "year"); }
    if (days >= 60) return plural(Math.floor(days / 30.44), "month");
    return plural(days, "day");
  }

  function sendDetails(patch) {
    return api.patch("/api/invoices/" + state.current.id, patch).then(function (saved) {
      detail.detailsSaved = savedDetails(saved);
      return saved;
    }).catch(function (error) {
      var form = $("details-form");
      var named = (error.fields || []).filter(function (f) { return form[f]; });
      if (!named.length && error.code === "notes_too_long") named = ["notes"];
      if (!named.length && error.code === "invalid_due_date") named = ["due_date"];
      named.forEach(function (f) { markInvalid(form[f]); });
      ui.showError($("details-status"), error, "The dates and notes were not saved", { markFields: false });
      throw error;
    });
  }

  function countNotes() {
    var form = $("details-form"), count = Array.from(form.notes.value).length;
    var counter = $("d-notes-count");
    counter.textContent = count.toLocaleString() + " of " + NOTES_MAX.toLocaleString() + " characters";
    counter.classList.toggle("error-text", count > NOTES_MAX);
  }

  $("details-form").notes.addEventListener("input", countNotes);
  DETAIL_FIELDS.forEach(function (name) {
    $("details-form")[name].addEventListener("input", function (e) { e.target.removeAttribute("aria-invalid"); });
  });

  $("details-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var patch = detail.detailsSaved ? detailsPatch(detail.detailsSaved) : null;
    if (!patch) {
      ui.message($("details-status"), "info", "Nothing to save", "The dates and notes are as saved.");
      return;
    }
    var found = detailsProblems(patch);
    if (found.length) {
      markProblems(found);
      ui.message($("details-status"), "error", "The dates and notes were not saved", found.map(function (p) { return p.message; }).join(" "))
        .setAttribute("data-error-code", "invalid_details");
      found[0].input.focus();
      return;
    }
    function go() {
      ui.busy($("details-save"), "Saving…", function () {
        return sendDetails(patch).then(function (saved) {
          renderDetail(saved);
          ui.showSuccess($("details-status"), "Saved", "Issue date " + fmt.day(saved.issue_date) + ", due " + fmt.day(saved.due_date) + (saved.notes ? ", with notes." : "."));
        }).catch(function () { /* shown by sendDetails */ });
      });
    }
    var warnings = detailsWarnings(patch);
    if (warnings.length) {
      askFirst($("details-status"), warnings.join(" ") + " Save anyway?", "Save anyway", go, $("details-form").issue_date);
      return;
    }
    go();
  });

  $("back-to-list").addEventListener("click", function () {
    leaveDetail(function () {
      forgetDetail();
      showList().then(function () { $("new-invoice").focus(); });
    }, "go back to the list");
  });

  /* --- start ------------------------------------------------------------------------------ */

  (function presetFilters() {
    var form = $("invoice-filters");
    ["status", "client_id", "budget_id", "q"].forEach(function (name) {
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
    form.q.value = state.filters.q;
    var invoiceId = W360.page.param("invoice_id");
    if (invoiceId) return showDetail(invoiceId);
    return loadList().then(function () {
      var budgetId = W360.page.param("new_for_budget");
      if (budgetId) openGenerator(budgetId);
    });
  }).catch(function (error) { ui.showError(pageStatus, error, "The invoices page could not be loaded"); });
})();
