/* Budgets: list, create/edit/delete, and a budget's detail: live figures, burn chart, rate
   changes, rate card. */
(function () {
  "use strict";
  var api = W360.api, ui = W360.ui, fmt = W360.fmt, h = ui.h;
  var $ = function (id) { return document.getElementById(id); };
  var pageStatus = $("page-status");
  var state = { budgets: [], clients: {}, people: [], current: null, editing: null, projects: null };
  var KINDS = { time_and_materials: "Time and materials", retainer: "Retainer" };
  var rateChanges = W360.rateChanges.create($("rate-changes"), { id: "budget-rate-changes", describedBy: "rate-changes-help" });

  function clientOf(budget) { return state.clients[budget.client_id] || { name: "Client " + budget.client_id, currency: "" }; }

  function period(budget) {
    return fmt.day(budget.starts_on) + " – " + (budget.ends_on ? fmt.day(budget.ends_on) : "open");
  }

  function progress(used, label) {
    var percent = Math.round(used * 100);
    return h("div", { class: "progress" + (used > 1 ? " over" : ""), role: "progressbar", "aria-valuemin": "0", "aria-valuemax": "100",
      "aria-valuenow": String(Math.min(percent, 100)), "aria-label": label },
      h("span", { style: { width: Math.min(percent, 100) + "%" } }));
  }

  function hoursCapUse(budget) {
    if (!budget.hours_cap) return h("span", { class: "subtle" }, "No hours cap");
    var used = Number(budget.hours_logged) / Number(budget.hours_cap);
    var percent = Math.round(used * 100);
    var over = Number(budget.hours_logged) - Number(budget.hours_cap);
    var text = over > 0
      ? fmt.hours(over.toFixed(2)) + " over the cap of " + fmt.hours(budget.hours_cap)
      : percent + "% of " + fmt.hours(budget.hours_cap);
    return h("div", { class: "cap-use" + (over > 0 ? " over" : "") }, progress(used, percent + "% of " + fmt.hours(budget.hours_cap) + " used"),
      h("span", { class: "cell-sub" }, text));
  }

  /* Money caps count what finalized invoices billed: the figure finance is held to. Past
     the cap it says how far, never a negative "left". */
  function moneyCapUse(budget) {
    // Hidden from this person: a cap may be there, its figures are not for them.
    if (fmt.moneyHidden() && budget.amount_cap === null) return h("span", { class: "subtle" }, "Hidden");
    if (!budget.amount_cap) return h("span", { class: "subtle" }, "No money cap");
    var currency = clientOf(budget).currency;
    var cap = Number(budget.amount_cap), invoiced = Number(budget.amount_invoiced);
    var used = cap > 0 ? invoiced / cap : (invoiced > 0 ? 2 : 0);
    var percent = Math.round(used * 100);
    var over = (fmt.cents(invoiced) - fmt.cents(cap)) / 100;
    var text = over > 0
      ? fmt.money(over, currency) + " over the cap of " + fmt.money(cap, currency)
      : fmt.money(invoiced, currency) + " of " + fmt.money(cap, currency) + " invoiced (" + percent + "%)";
    return h("div", { class: "cap-use" + (over > 0 ? " over" : "") },
      progress(used, fmt.money(invoiced, currency) + " of the " + fmt.money(cap, currency) + " cap invoiced"),
      h("span", { class: "cell-sub" }, text));
  }

  /* "$580.00 of the cap left to invoice", or "$38,063.00 over the cap": the same words on
     the list and on a budget's own page. */
  function capLeft(remaining, currency, format) {
    var value = Number(remaining);
    return value < 0 ? format(-value, currency) + " over the cap" : format(value, currency) + " of the cap left";
  }

  function renderList() {
    var body = ui.clear($("budgets-body"));
    state.budgets.forEach(function (b) {
      var open = h("button", { type: "button", class: "btn btn-link", "data-budget": b.id }, b.name);
      open.addEventListener("click", function () { showDetail(b.id); });
      body.appendChild(h("tr", { "data-budget": b.id },
        h("td", null, h("span", { class: "cell-main" }, open), h("span", { class: "cell-sub" }, clientOf(b).name)),
        h("td", { class: "hide-narrow" }, h("span", { class: "lozenge" + (b.kind === "retainer" ? " lozenge-new" : "") }, KINDS[b.kind] || b.kind)),
        h("td", { class: "hide-narrow" }, b.project_keys.join(", ")),
        h("td", { class: "hide-narrow" }, period(b)),
        h("td", { class: "numeric" }, fmt.hours(b.hours_logged)),
        h("td", null, hoursCapUse(b)),
        h("td", null, moneyCapUse(b))));
    });
    var empty = ui.clear($("budgets-empty"));
    if (!state.budgets.length) {
      empty.appendChild(h("div", { class: "empty" }, h("h3", null, "No budgets yet"),
        h("p", null, Object.keys(state.clients).length
          ? "Create a budget for a client's Jira projects, and its worklogs gather in it."
          : "Create a client first (Manage → Clients), then give it a budget."),
        h("button", { type: "button", class: "btn btn-primary edit-only", onclick: function () { openEditor(null); } }, "Create budget")));
    }
  }

  function loadList() {
    ui.loading($("budgets-status"), "Loading budgets…");
    return Promise.all([api.get("/api/budgets", { limit: 500 }), api.get("/api/clients", { limit: 500 })]).then(function (answers) {
      ui.clear($("budgets-status"));
      state.budgets = answers[0].items;
      state.clients = {};
      answers[1].items.forEach(function (c) { state.clients[c.id] = c; });
      var select = ui.clear($("budget-client"));
      answers[1].items.forEach(function (c) { select.appendChild(h("option", { value: c.id }, c.name + " (" + c.currency + ")")); });
      renderList();
    }).catch(function (error) { ui.showError($("budgets-status"), error, "Budgets could not be loaded"); });
  }

  /* --- create / edit -------------------------------------------------------------------------- */

  function openEditor(budget) {
    state.editing = budget;
    var form = $("budget-form");
    form.reset();
    ui.clear($("budget-form-status"));
    $("budget-editor-title").textContent = budget ? "Edit " + budget.name : "Create budget";
    $("budget-save").textContent = budget ? "Save changes" : "Create budget";
    form.client_id.disabled = !!budget;
    if (budget) {
      form.client_id.value = budget.client_id;
      form.name.value = budget.name;
      form.kind.value = budget.kind;
      form.project_keys.value = budget.project_keys.join(", ");
      form.hourly_rate.value = budget.hourly_rate || "";
      form.hours_cap.value = budget.hours_cap || "";
      form.amount_cap.value = budget.amount_cap || "";
      form.starts_on.value = budget.starts_on;
      form.ends_on.value = budget.ends_on || "";
    } else {
      form.starts_on.value = fmt.isoDay(new Date());
    }
    showCurrency();
    $("budget-editor").hidden = false;
    $("new-budget").setAttribute("aria-expanded", "true");
    form.name.focus();
    loadProjects(false);
  }

  /* Budget money is in the client's currency: say which beside every money field. */
  function formCurrency() {
    var form = $("budget-form");
    var client = state.clients[form.client_id.value];
    return client ? client.currency : "";
  }

  function showCurrency() {
    var currency = formCurrency();
    document.querySelectorAll("#budget-form [data-currency-note]").forEach(function (note) {
      note.textContent = currency ? " (" + currency + ")" : "";
    });
  }

  /* --- the budget's Jira projects: typed, or picked from the site's ---------------------- */

  function typedKeys() {
    return $("budget-projects").value.split(/[\s,]+/).filter(Boolean).map(function (k) { return k.toUpperCase(); });
  }

  function setTypedKeys(keys) {
    $("budget-projects").value = keys.join(", ");
    $("budget-projects").removeAttribute("aria-invalid");
  }

  function renderProjectChoices() {
    var holder = ui.clear($("budget-project-choices"));
    if (!state.projects) return;
    var typed = typedKeys();
    state.projects.forEach(function (project) {
      var box = h("input", { type: "checkbox", value: project.key, checked: typed.indexOf(project.key) >= 0 });
      box.addEventListener("change", function () {
        var keys = typedKeys().filter(function (k) { return k !== project.key; });
        if (box.checked) keys.push(project.key);
        setTypedKeys(keys);
        showUnknownKeys();
      });
      holder.appendChild(h("label", { class: "check project-choice" }, box,
        h("span", null, h("strong", null, project.key), " " + project.name)));
    });
    if (!state.projects.length) holder.appendChild(h("p", { class: "subtle" }, "Worklog360 can see no projects on this Jira site."));
    showUnknownKeys();
  }

  /* A hint only: Jira has the last word when the budget is saved. */
  function showUnknownKeys() {
    var status = $("budget-projects-status");
    if (!state.projects) return;
    var known = state.projects.map(function (p) { return p.key; });
    var unknown = typedKeys().filter(function (k) { return known.indexOf(k) < 0; });
    if (unknown.length) {
      ui.message(status, "warning", null, "Not among the site's projects: " + unknown.join(", ") +
        ". Check the key; saving asks Jira again.");
    } else if (status.querySelector(".message-warning")) {
      ui.clear(status);
    }
  }

  function loadProjects(refresh) {
    var status = $("budget-projects-status");
    if (state.projects && !refresh) { renderProjectChoices(); return Promise.resolve(); }
    ui.loading(status, "Asking Jira for the site's projects…");
    return api.get("/api/jira/projects", refresh ? { refresh: "true" } : undefined).then(function (answer) {
      ui.clear(status);
      state.projects = answer.items;
      renderProjectChoices();
    }).catch(function (error) {
      ui.clear($("budget-project-choices"));
      var retry = h("button", { type: "button", class: "btn btn-compact" }, "Try again");
      retry.addEventListener("click", function () { loadProjects(true); });
      ui.message(status, "warning", "Jira's projects could not be listed", (error && error.message) ||
        "Jira did not answer.", h("p", null, "You can still type the project keys; they are checked when you save. ", retry));
    });
  }

  function closeEditor() {
    $("budget-editor").hidden = true;
    $("new-budget").setAttribute("aria-expanded", "false");
    state.editing = null;
  }

  function blankToNull(value) { return value === "" ? null : value; }

  $("budget-form").addEventListener("submit", function (event) {
    event.preventDefault();
    // One save at a time: "Save again" or Enter while the first is on its way sends nothing.
    if ($("budget-save").getAttribute("aria-busy") === "true") return;
    var form = event.target, editing = state.editing;
    var body = {
      name: form.name.value.trim(),
      kind: form.kind.value,
      project_keys: typedKeys(),
      hourly_rate: blankToNull(form.hourly_rate.value),
      hours_cap: blankToNull(form.hours_cap.value),
      amount_cap: blankToNull(form.amount_cap.value),
      starts_on: form.starts_on.value,
      ends_on: blankToNull(form.ends_on.value),
    };
    if (!editing) body.client_id = Number(form.client_id.value);
    ui.busy($("budget-save"), editing ? "Saving…" : "Creating…", function () {
      var call = editing ? api.patch("/api/budgets/" + editing.id, body) : api.post("/api/budgets", body);
      return call.then(function (saved) {
        closeEditor();
        ui.showSuccess(pageStatus, editing ? "Budget saved" : "Budget created", saved.name + (editing ? " was saved." : " was created."));
        return loadList().then(function () { if (editing) return showDetail(saved.id); });
      }).catch(function (error) {
        var status = $("budget-form-status"), title = editing ? "The budget was not saved" : "The budget was not created";
        if (error.code === "unknown_project") {
          var box = ui.message(status, "error", title, error.message);
          box.setAttribute("data-error-code", error.code);
          form.project_keys.setAttribute("aria-invalid", "true");
          form.project_keys.focus();
          return;
        }
        if (error.code === "jira_unavailable") {
          var again = h("button", { type: "button", class: "btn btn-compact" }, "Save again");
          again.addEventListener("click", function () { again.disabled = true; form.requestSubmit(); });
          var down = ui.message(status, "error", title, error.message, h("p", null, again));
          down.setAttribute("data-error-code", error.code);
          again.focus();
          return;
        }
        ui.showError(status, error, title);
      });
    });
  });

  /* --- detail --------------------------------------------------------------------------------- */

  function stat(label, value, cap, over) {
    return h("div", { class: "stat" + (over ? " over" : "") }, h("dt", null, label),
      h("dd", null, value, cap ? h("span", { class: "cap" }, cap) : null));
  }

  function renderStats(budget, burn) {
    var currency = burn.currency;
    var list = ui.clear($("detail-stats"));
    list.appendChild(stat("Hours logged", fmt.hours(budget.hours_logged), budget.hours_cap ? "of " + fmt.hours(budget.hours_cap) + " cap" : "no hours cap"));
    list.appendChild(stat("Billable hours", fmt.hours(burn.billable_hours), "after rounding"));
    var hidden = fmt.moneyHidden(); // rates and amounts are not shown to this person
    var amountOver = !hidden && budget.amount_cap && Number(burn.amount) > Number(budget.amount_cap);
    list.appendChild(stat("Amount", fmt.money(burn.amount, currency), hidden ? "hidden, as its cap" : budget.amount_cap
      ? (amountOver ? fmt.money((fmt.cents(burn.amount) - fmt.cents(budget.amount_cap)) / 100, currency) + " over the " + fmt.money(budget.amount_cap, currency) + " cap"
        : "of " + fmt.money(budget.amount_cap, currency) + " cap")
      : "no amount cap", amountOver));
    if (budget.hours_remaining !== null) {
      var hoursOver = Number(budget.hours_remaining) < 0;
      list.appendChild(stat(hoursOver ? "Hours over the cap" : "Hours remaining",
        fmt.hours(Math.abs(Number(budget.hours_remaining)).toFixed(2)),
        hoursOver ? "logged beyond the " + fmt.hours(budget.hours_cap) + " cap" : "of the " + fmt.hours(budget.hours_cap) + " cap", hoursOver));
    }
    list.appendChild(stat("Hours invoiced", fmt.hours(budget.hours_invoiced), "on finalized invoices"));
    var invoicedOver = budget.amount_remaining !== null && Number(budget.amount_remaining) < 0;
    list.appendChild(stat("Amount invoiced", fmt.money(budget.amount_invoiced, currency),
      !hidden && budget.amount_remaining !== null ? capLeft(budget.amount_remaining, currency, fmt.money) + (invoicedOver ? "" : " to invoice") : "on finalized invoices",
      invoicedOver));
    if (Number(burn.unpriced_hours) > 0) {
      ui.message($("detail-status"), "warning", "Some hours have no rate",
        fmt.hours(burn.unpriced_hours) + " cannot be priced. Set a rate on the budget, the client, or the site default in Settings.");
    }
  }

  function renderBurn(burn) {
    var box = ui.clear($("burn"));
    var dates = burn.points.map(function (p) { return p.date; });
    if (!dates.length) {
      box.appendChild(h("p", { class: "subtle" }, "Nothing logged yet."));
      return;
    }
    var last = burn.points[burn.points.length - 1];
    box.appendChild(W360.charts.lineChart({
      title: "Hours against the cap",
      summary: fmt.hours(last.hours) + " logged and " + fmt.hours(last.billable_hours) + " billable by " + fmt.day(last.date) +
        (burn.hours_cap ? "; the cap is " + fmt.hours(burn.hours_cap) + "." : "; no hours cap."),
      dates: dates,
      series: [
        { label: "Hours logged", values: burn.points.map(function (p) { return Number(p.hours); }) },
        { label: "Billable hours", values: burn.points.map(function (p) { return Number(p.billable_hours); }), secondary: true },
      ],
      cap: burn.hours_cap ? Number(burn.hours_cap) : null,
      capLabel: "Hours cap",
      capText: burn.hours_cap ? "Hours cap " + fmt.hours(burn.hours_cap) : null,
      format: function (v) { return Math.round(v) + " h"; },
    }));
    if (fmt.moneyHidden()) {
      box.appendChild(h("p", { class: "subtle", id: "burn-money-hidden" }, "Money against the cap: hidden. This site shows rates and amounts to Jira administrators and the billing group only."));
      return;
    }
    box.appendChild(W360.charts.lineChart({
      title: "Money against the cap",
      summary: fmt.money(last.amount, burn.currency) + " used by " + fmt.day(last.date) +
        (burn.amount_cap ? "; the cap is " + fmt.money(burn.amount_cap, burn.currency) + "." : "; no amount cap."),
      dates: dates,
      series: [{ label: "Amount", values: burn.points.map(function (p) { return Number(p.amount); }) }],
      cap: burn.amount_cap ? Number(burn.amount_cap) : null,
      capLabel: "Amount cap",
      format: function (v) { return fmt.money(Math.round(v), burn.currency).replace(/\.00$/, ""); },
    }));
  }

  function personSelect(selected) {
    var select = h("select", { name: "account_id", "aria-label": "Person" });
    var known = false;
    state.people.forEach(function (p) {
      if (p.account_id === selected) known = true;
      select.appendChild(h("option", { value: p.account_id, selected: p.account_id === selected }, p.display_name || p.account_id));
    });
    if (selected && !known) select.appendChild(h("option", { value: selected, selected: true }, selected));
    return select;
  }

  function addRateRow(rate) {
    var remove = h("button", { type: "button", class: "btn btn-subtle btn-compact edit-only" }, "Remove");
    var row = h("tr", { class: "rate-row" },
      h("td", null, personSelect(rate && rate.account_id)),
      h("td", null, h("input", { type: "number", name: "hourly_rate", min: "0", step: "0.01", required: true, value: rate ? rate.hourly_rate : "",
        "aria-label": "Hourly rate" + (state.current && clientOf(state.current).currency ? " in " + clientOf(state.current).currency : ""),
        placeholder: fmt.moneyHidden() ? "Hidden" : null })),
      h("td", null, h("input", { type: "date", name: "effective_from", required: true, value: rate ? rate.effective_from : (state.current ? state.current.starts_on : ""), "aria-label": "Effective from" })),
      h("td", null, remove));
    remove.setAttribute("aria-label", "Remove this rate");
    remove.addEventListener("click", function () { row.remove(); $("rates-empty").hidden = document.querySelectorAll(".rate-row").length > 0; $("add-rate").focus(); });
    $("rates-body").appendChild(row);
    $("rates-empty").hidden = true;
    return row;
  }

  function renderRates(rates) {
    ui.clear($("rates-body"));
    rates.items.forEach(addRateRow);
    $("rates-empty").hidden = rates.items.length > 0;
  }

  /* The budget's rate today, with the change it comes from and the next one to come. */
  function rateText(budget, changes) {
    var currency = clientOf(budget).currency, today = fmt.isoDay(new Date());
    var now = W360.rateChanges.rateOn(budget.hourly_rate, changes, today);
    var upcoming = changes.filter(function (c) { return c.effective_from > today; })[0];
    var parts = [];
    if (now.rate) parts.push(fmt.money(now.rate, currency) + " an hour" + (now.since ? " since " + fmt.day(now.since) : ""));
    if (upcoming) parts.push(fmt.money(upcoming.hourly_rate, currency) + " an hour from " + fmt.day(upcoming.effective_from));
    return parts.join(" · ");
  }

  function renderMeta(budget, changes) {
    var rate = rateText(budget, changes);
    $("detail-meta").textContent = clientOf(budget).name + " · " + (KINDS[budget.kind] || budget.kind) + " · " +
      budget.project_keys.join(", ") + " · " + period(budget) + (rate ? " · " + rate : "");
  }

  function loadRateChanges(budget) {
    var currency = clientOf(budget).currency;
    return rateChanges.load({
      path: "/api/budgets/" + budget.id + "/rate-changes",
      currency: currency,
      subject: budget.name,
      base: fmt.moneyHidden() ? "Rates are hidden: this site shows them to Jira administrators and the billing group only." : budget.hourly_rate
        ? "Before the first change, the budget's hourly rate applies: " + fmt.money(budget.hourly_rate, currency) + " an hour."
        : "Before the first change, the client's rate applies: this budget has no hourly rate of its own.",
      empty: "No rate changes: the budget bills at " + (budget.hourly_rate ? "its hourly rate" : "the client's rate") + " whatever the date.",
      onChange: function (changes) { if (state.current === budget) renderMeta(budget, changes); },
      onSaved: function () {
        return api.get("/api/budgets/" + budget.id + "/burn").then(function (burn) {
          if (state.current === budget) { renderStats(budget, burn); renderBurn(burn); }
        });
      },
    });
  }

  function showDetail(budgetId) {
    var budget = state.budgets.find(function (b) { return String(b.id) === String(budgetId); });
    $("budget-list").hidden = true;
    $("budget-detail").hidden = false;
    closeEditor();
    ui.clear($("budget-confirm"));
    ui.clear($("detail-status"));
    ui.clear($("rates-status"));
    ui.loading($("burn"), "Loading the burn chart…");
    return Promise.all([
      api.get("/api/budgets/" + budgetId),
      api.get("/api/budgets/" + budgetId + "/burn"),
      api.get("/api/budgets/" + budgetId + "/rates"),
      state.people.length ? Promise.resolve({ people: state.people }) : api.get("/api/worklogs/facets"),
    ]).then(function (answers) {
      budget = answers[0];
      state.current = budget;
      state.people = answers[3].people;
      $("detail-title").textContent = budget.name;
      var currency = clientOf(budget).currency;
      $("rates-rate-header").textContent = "Hourly rate" + (currency ? " (" + currency + ")" : "");
      renderMeta(budget, []);
      renderStats(budget, answers[1]);
      renderBurn(answers[1]);
      renderRates(answers[2]);
      loadRateChanges(budget);
      $("detail-title").focus();
    }).catch(function (error) {
      ui.clear($("burn"));
      ui.showError($("detail-status"), error, "The budget could not be loaded");
    });
  }

  function showList() {
    $("budget-detail").hidden = true;
    $("budget-list").hidden = false;
    state.current = null;
    return loadList();
  }

  /* --- delete ------------------------------------------------------------------------------- */

  function confirmDelete() {
    var budget = state.current;
    if (!budget) return;
    var holder = ui.clear($("budget-confirm"));
    var yes = h("button", { type: "button", class: "btn btn-danger", id: "confirm-delete-budget" }, "Delete budget");
    var no = h("button", { type: "button", class: "btn btn-subtle" }, "Keep budget");
    var box = h("div", { class: "confirm danger", role: "alertdialog", "aria-modal": "false",
      "aria-labelledby": "budget-confirm-title", "aria-describedby": "budget-confirm-text" },
      h("h3", { id: "budget-confirm-title" }, "Delete " + budget.name + "?"),
      h("div", { id: "budget-confirm-text" },
        h("p", null, "The budget goes with its projects, its rate card and its rate changes. Worklogs assigned to it by hand " +
          "fall back into whichever budget matches their project and day, or none."),
        h("p", null, "A budget that invoices were made from, even a draft, cannot be deleted.")),
      h("div", { class: "button-group" }, yes, no));
    holder.appendChild(box);
    function dismiss() { ui.clear(holder); $("delete-budget").focus(); }
    box.addEventListener("keydown", function (e) { if (e.key === "Escape") { e.preventDefault(); dismiss(); } });
    no.addEventListener("click", dismiss);
    yes.addEventListener("click", function () {
      ui.clear($("detail-status"));
      ui.busy(yes, "Deleting…", function () {
        return api.del("/api/budgets/" + budget.id).then(function () {
          ui.clear(holder);
          return showList().then(function () {
            ui.showSuccess(pageStatus, "Budget deleted", budget.name + " was deleted, with its projects, rate card and rate changes.");
            $("new-budget").focus();
          });
        }).catch(function (error) {
          ui.clear(holder);
          if (error.code === "budget_has_invoices") {
            var box = ui.message($("detail-status"), "error", budget.name + " was not deleted", error.message,
              h("button", { type: "button", class: "btn btn-compact", onclick: function () {
                W360.page.go(W360.page.modules.invoices, { budget_id: budget.id });
              } }, "Show its invoices"));
            box.setAttribute("data-error-code", error.code);
          } else {
            ui.showError($("detail-status"), error, budget.name + " was not deleted");
          }
          $("delete-budget").focus();
        });
      });
    });
    box.scrollIntoView({ block: "nearest" });
    yes.focus();
  }

  $("rates-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var budget = state.current;
    var rates = Array.prototype.map.call(document.querySelectorAll(".rate-row"), function (row) {
      return {
        account_id: row.querySelector("[name=account_id]").value,
        hourly_rate: row.querySelector("[name=hourly_rate]").value,
        effective_from: row.querySelector("[name=effective_from]").value,
      };
    });
    var incomplete = rates.filter(function (r) { return !r.account_id || r.hourly_rate === "" || !r.effective_from; });
    if (incomplete.length) {
      ui.message($("rates-status"), "error", "Check the rate card", "Every row needs a person, a rate and a date. Fill them in or remove the row.");
      return;
    }
    ui.busy($("save-rates"), "Saving…", function () {
      return api.put("/api/budgets/" + budget.id + "/rates", rates).then(function (saved) {
        renderRates(saved);
        ui.showSuccess($("rates-status"), "Rate card saved", saved.items.length + " personal rate" + (saved.items.length === 1 ? "" : "s") + " on " + budget.name + ".");
        return api.get("/api/budgets/" + budget.id + "/burn").then(function (burn) { renderStats(budget, burn); renderBurn(burn); });
      }).catch(function (error) { ui.showError($("rates-status"), error, "The rate card was not saved"); });
    });
  });
  $("add-rate").addEventListener("click", function () { addRateRow(null).querySelector("select").focus(); });
  $("back-to-list").addEventListener("click", function () { showList().then(function () { $("new-budget").focus(); }); });
  $("edit-budget").addEventListener("click", function () { openEditor(state.current); });
  $("delete-budget").addEventListener("click", confirmDelete);
  $("show-worklogs").addEventListener("click", function () {
    W360.page.go(W360.page.modules.worklogs, { budget_id: state.current.id });
  });
  $("new-budget").addEventListener("click", function () { openEditor(null); });
  $("budget-cancel").addEventListener("click", closeEditor);
  $("budget-client").addEventListener("change", showCurrency);
  $("budget-projects").addEventListener("input", function () {
    $("budget-projects").removeAttribute("aria-invalid");
    var typed = typedKeys();
    document.querySelectorAll("#budget-project-choices input").forEach(function (box) { box.checked = typed.indexOf(box.value) >= 0; });
  });
  $("budget-projects").addEventListener("change", showUnknownKeys);

  loadList().then(function () {
    var preset = W360.page.param("budget_id");
    if (preset) return showDetail(preset);
  });
})();
