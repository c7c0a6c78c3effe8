/*
 * Rate changes: a level's hourly rate from a date on (a budget's, a client's or the site's
 * default), edited as one list and saved whole with PUT. Shared by Budgets, Clients and
 * Settings:
 *
 *   var editor = W360.rateChanges.create(element, { id: "budget-rc", describedBy: "…" });
 *   editor.load({ path: "/api/budgets/7/rate-changes", currency: "EUR", subject: "Acme web shop",
 *                 base: "Before the first change: …", onChange: function (items) { … } });
 *
 * The pages do not tell editors from readers (the API answers 403 to a reader's save, and
 * the message says who can), so every user sees the same controls, as on the rate card.
 */
(function () {
  "use strict";
  var api = W360.api, ui = W360.ui, fmt = W360.fmt, h = ui.h;
  var serial = 0; // ties each rate input to the line under it that says the change

  /* The rate of a level on `day` (YYYY-MM-DD): its latest change begun by then, else its base. */
  function rateOn(base, items, day) {
    var rate = base, since = null;
    items.forEach(function (item) {
      if (item.effective_from <= day) { rate = item.hourly_rate; since = item.effective_from; }
    });
    return { rate: rate, since: since };
  }

  function plural(n, word) { return n + " " + word + (n === 1 ? "" : "s"); }

  function create(root, setup) {
    var prefix = setup.id;
    var options = null; // what load() was last given
    var generation = 0; // answers to an older load() are dropped
    var dirty = false;

    var base = h("p", { class: "subtle rate-base", id: prefix + "-base" });
    var rows = h("tbody", { id: prefix + "-rows" });
    var rateHeader = h("th", { scope: "col" }, "Rate an hour");
    var empty = h("p", { class: "subtle", id: prefix + "-empty", hidden: true });
    var add = h("button", { type: "button", class: "btn edit-only", id: prefix + "-add" }, "Add a rate change");
    var save = h("button", { type: "submit", class: "btn btn-primary edit-only", id: prefix + "-save" }, "Save rate changes");
    var unsaved = h("span", { class: "subtle", id: prefix + "-unsaved", hidden: true }, "Not saved yet");
    var form = h("form", { novalidate: true, class: "rate-changes", hidden: true, "aria-describedby": setup.describedBy || null },
      h("fieldset", { class: "edit-fields" }, h("div", { class: "table-wrap" },
        h("table", { class: "ds-table rate-changes-table" },
          h("thead", null, h("tr", null,
            h("th", { scope: "col" }, "Effective from"),
            rateHeader,
            h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, "Remove")))),
          rows))),
      empty,
      h("div", { class: "form-actions" }, add, save, unsaved));
    var status = h("div", { id: prefix + "-status", "aria-live": "polite" });
    ui.clear(root);
    root.appendChild(base);
    root.appendChild(form);
    root.appendChild(status);

    function rowElements() { return Array.prototype.slice.call(rows.querySelectorAll("tr.rate-change-row")); }

    function markDirty() {
      dirty = true;
      unsaved.hidden = false;
    }

    function currencyText() { return options.currency ? " in " + options.currency : ""; }

    /* Labels say which change an input belongs to; renumbered as rows come and go. */
    function relabel() {
      rowElements().forEach(function (row, index) {
        var n = index + 1;
        row.querySelector("[data-field=effective_from]").setAttribute("aria-label", "Rate change " + n + ": effective from");
        row.querySelector("[data-field=hourly_rate]").setAttribute("aria-label", "Rate change " + n + ": rate an hour" + currencyText());
        row.querySelector("button.remove").setAttribute("aria-label", "Remove rate change " + n);
      });
      var count = rowElements().length;
      empty.hidden = count > 0;
    }

    /* Under the inputs, the change as it will read: "€150.00 an hour from 1 Mar 2025". */
    function describe(row) {
      var day = row.querySelector("[data-field=effective_from]").value;
      var rate = row.querySelector("[data-field=hourly_rate]").value.trim();
      row.querySelector(".cell-sub").textContent = rate !== "" && day
        ? fmt.money(rate, options.currency) + " an hour from " + fmt.day(day)
        : "";
    }

    function addRow(item) {
      var n = ++serial;
      var day = h("input", { type: "date", "data-field": "effective_from", required: true, value: item ? item.effective_from : "" });
      var rate = h("input", {
        type: "number", class: "num", "data-field": "hourly_rate", min: "0", step: "0.01", inputmode: "decimal",
        required: true, value: item ? item.hourly_rate : "", "aria-describedby": prefix + "-says-" + n,
        placeholder: fmt.moneyHidden() && item ? "Hidden" : null,
      });
      var remove = h("button", { type: "button", class: "btn btn-subtle btn-compact remove edit-only" }, "Remove");
      var row = h("tr", { class: "rate-change-row", "data-rate-change": item ? item.effective_from : "" },
        h("td", null, day),
        h("td", null, rate, h("span", { class: "cell-sub", id: prefix + "-says-" + n })),
        h("td", { class: "row-actions" }, remove));
      [day, rate].forEach(function (input) {
        input.addEventListener("input", function () {
          input.removeAttribute("aria-invalid");
          describe(row);
          markDirty();
        });
      });
      remove.addEventListener("click", function () {
        var next = row.nextElementSibling;
        row.remove();
        relabel();
        markDirty();
        (next ? next.querySelector("button.remove") : add).focus();
      });
      rows.appendChild(row);
      describe(row);
      return row;
    }

    function render(items) {
      ui.clear(rows);
      items.forEach(addRow);
      relabel();
      dirty = false;
      unsaved.hidden = true;
      if (options.onChange) options.onChange(items);
    }

    function load(next) {
      options = next;
      generation += 1;
      var mine = generation;
      base.textContent = next.base || "";
      rateHeader.textContent = "Rate an hour" + (next.currency ? " (" + next.currency + ")" : "");
      empty.textContent = next.empty || "No rate changes.";
      form.hidden = true;
      ui.clear(rows);
      ui.loading(status, "Loading rate changes…");
      return api.get(next.path).then(function (answer) {
        if (mine !== generation) return;
        ui.clear(status);
        form.hidden = false;
        render(answer.items);
      }).catch(function (error) {
        if (mine !== generation) return;
        ui.showError(status, error, "Rate changes could not be loaded");
      });
    }

    /* The row inputs a 422 names: "3.hourly_rate: …" (the list's index), or the day two rates share. */
    function invalidInputs(error) {
      var found = [], all = rowElements();
      if (error.status !== 422) return found;
      (error.fields || []).forEach(function (field) {
        var match = /^(\d+)\.(effective_from|hourly_rate)$/.exec(field);
        var row = match && all[Number(match[1])];
        var input = row && row.querySelector("[data-field=" + match[2] + "]");
        if (input && found.indexOf(input) < 0) found.push(input);
      });
      return found;
    }

    function fieldNames(inputs) {
      return inputs.map(function (input) { return input.getAttribute("aria-label"); }).join("; ");
    }

    function showSaveError(error) {
      var inputs = invalidInputs(error);
      var box = ui.showError(status, error, "The rate changes were not saved", { markFields: false });
      if (inputs.length) {
        inputs.forEach(function (input) { input.setAttribute("aria-invalid", "true"); });
        var body = box.querySelector(".body");
        body.insertBefore(h("p", { class: "field-names" }, "Check " + fieldNames(inputs) + "."), body.querySelector(".next-step"));
        inputs[0].focus();
      }
      return box;
    }

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (!options) return;
      var all = rowElements();
      var missing = [];
      rows.querySelectorAll("[aria-invalid]").forEach(function (input) { input.removeAttribute("aria-invalid"); });
      var changes = all.map(function (row) {
        var day = row.querySelector("[data-field=effective_from]");
        var rate = row.querySelector("[data-field=hourly_rate]");
        if (!day.value) missing.push(day);
        if (rate.value.trim() === "") missing.push(rate);
        return { effective_from: day.value, hourly_rate: rate.value.trim() };
      });
      if (missing.length) {
        missing.forEach(function (input) { input.setAttribute("aria-invalid", "true"); });
        ui.message(status, "error", "Check the rate changes",
          "Every rate change needs a date and a rate. Fill in " + fieldNames(missing) + ", or remove the change.");
        missing[0].focus();
        return;
      }
      var subject = options.subject;
      ui.busy(save, "Saving…", function () {
        return api.put(options.path, changes).then(function (saved) {
          render(saved.items);
          ui.showSuccess(status, "Rate changes saved",
            (saved.items.length ? plural(saved.items.length, "rate change") : "No rate changes") + " on " + subject +
            ". Work from each date on bills at its rate; invoices already made are unchanged.");
          if (options.onSaved) options.onSaved(saved.items);
        }).catch(showSaveError);
      });
    });

    add.addEventListener("click", function () {
      var row = addRow({ effective_from: fmt.isoDay(new Date()), hourly_rate: "" });
      relabel();
      markDirty();
      row.querySelector("[data-field=effective_from]").focus();
    });

    return {
      load: load,
      setBase: function (text) { base.textContent = text || ""; },
      isDirty: function () { return dirty; },
    };
  }

  window.W360.rateChanges = { create: create, rateOn: rateOn };
})();
