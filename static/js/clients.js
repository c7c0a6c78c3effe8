/* Manage → Clients: list, create, edit (with the client's rate changes), delete. The
   QuickBooks part is a slot (see below). */
(function () {
  "use strict";
  var api = W360.api, ui = W360.ui, fmt = W360.fmt, h = ui.h;
  var $ = function (id) { return document.getElementById(id); };
  var pageStatus = $("page-status"), formStatus = $("client-form-status");
  var clients = [];
  var editing = null; // the client being edited, or null when creating
  var rateChanges = W360.rateChanges.create($("client-rate-changes"), { id: "client-rate-changes", describedBy: "client-rate-changes-help" });

  var returnTo = null, returnFor = null; // the invoice the person came from, to link this client

  function quickbooksCell(client) {
    if (client.quickbooks) {
      var inactive = client.quickbooks.active === false;
      var customer = client.quickbooks.display_name || "Linked";
      return h("span", { class: "status-cell" },
        h("span", { class: "lozenge lozenge-success clip", title: "QuickBooks customer " + customer }, customer),
        inactive ? h("span", { class: "lozenge lozenge-removed" }, "Inactive") : null);
    }
    return h("span", { class: "lozenge" }, "Not linked");
  }

  function confirmDelete(client, cell) {
    ui.clear(cell);
    var yes = h("button", { type: "button", class: "btn btn-danger btn-compact" }, "Delete");
    var no = h("button", { type: "button", class: "btn btn-subtle btn-compact" }, "Keep");
    cell.appendChild(h("span", { class: "button-group", role: "group", "aria-label": "Confirm deleting " + client.name },
      h("span", { class: "clip", title: client.name }, "Delete " + client.name + "?"), yes, no));
    yes.focus();
    no.addEventListener("click", function () { render(); });
    yes.addEventListener("click", function () {
      ui.busy(yes, "Deleting…", function () {
        return api.del("/api/clients/" + client.id).then(function () {
          ui.showSuccess(pageStatus, "Client deleted", client.name + " was deleted.");
          return load();
        }).catch(function (error) {
          render();
          ui.showError(pageStatus, error, client.name + " was not deleted");
        });
      });
    });
  }

  function renderRow(client) {
    var actions = h("td", { class: "row-actions" });
    var edit = h("button", { type: "button", class: "btn btn-subtle btn-compact edit-only", "aria-label": "Edit " + client.name }, "Edit");
    var remove = h("button", { type: "button", class: "btn btn-subtle btn-compact edit-only", "aria-label": "Delete " + client.name }, "Delete");
    edit.addEventListener("click", function () { openEditor(client); });
    remove.addEventListener("click", function () { confirmDelete(client, actions); });
    actions.appendChild(h("span", { class: "button-group" }, edit, remove));
    // A long name (even without spaces) is cut short with its whole text on hover: it must
    // never push the row's buttons out of the frame.
    return h("tr", { "data-client": client.id },
      h("td", { class: "name-cell" }, h("span", { class: "cell-main clip", title: client.name }, client.name),
        client.address ? h("span", { class: "cell-sub clip", title: client.address }, client.address.split("\n")[0]) : null),
      h("td", null, client.currency),
      h("td", { class: "numeric" }, fmt.money(client.hourly_rate, client.currency)),
      h("td", { class: "hide-narrow" }, client.billing_email ? h("span", { class: "clip email-clip", title: client.billing_email }, client.billing_email) : "—"),
      h("td", null, quickbooksCell(client)),
      actions);
  }

  function render() {
    var body = ui.clear($("clients-body"));
    clients.forEach(function (c) { body.appendChild(renderRow(c)); });
    var empty = ui.clear($("clients-empty"));
    if (!clients.length) {
      empty.appendChild(h("div", { class: "empty" },
        h("h3", null, "No clients yet"),
        h("p", null, "Create a client for each company you bill; then give it budgets over its Jira projects."),
        h("button", { type: "button", class: "btn btn-primary edit-only", onclick: function () { openEditor(null); } }, "Create client")));
    }
  }

  function load() {
    ui.loading($("clients-status"), "Loading clients…");
    return api.get("/api/clients", { limit: 500 }).then(function (page) {
      ui.clear($("clients-status"));
      clients = page.items;
      render();
    }).catch(function (error) { ui.showError($("clients-status"), error, "Clients could not be loaded"); });
  }

  function setCurrency(select, code) {
    if (!Array.prototype.some.call(select.options, function (o) { return o.value === code; })) {
      select.appendChild(h("option", { value: code }, code)); // a code no longer offered stays readable
    }
    select.value = code;
  }

  /* A refusal whose message says what to do: no generic next step under it. */
  function showRefusal(container, error, title) {
    var field = { currency_mismatch: "currency", client_name_taken: "name" }[error && error.code];
    if (!field) return ui.showError(container, error, title);
    var box = ui.message(container, "error", title, error.message);
    box.setAttribute("data-error-code", error.code);
    var input = $("client-form")[field];
    input.setAttribute("aria-invalid", "true");
    input.addEventListener("change", function () { input.removeAttribute("aria-invalid"); }, { once: true });
    input.addEventListener("input", function () { input.removeAttribute("aria-invalid"); }, { once: true });
    input.focus();
    return box;
  }

  function openEditor(client, options) {
    editing = client;
    var form = $("client-form");
    form.reset();
    ui.clear(formStatus);
    form.querySelectorAll("[aria-invalid]").forEach(function (i) { i.removeAttribute("aria-invalid"); });
    $("client-editor-title").textContent = client ? "Edit " + client.name : "Create client";
    $("client-save").textContent = client ? "Save changes" : "Create client";
    if (client) {
      form.name.value = client.name;
      setCurrency(form.currency, client.currency);
      form.hourly_rate.value = client.hourly_rate || "";
      form.billing_email.value = client.billing_email || "";
      form.address.value = client.address || "";
    }
    var qbo = $("client-quickbooks");
    qbo.hidden = !client;
    if (client) {
      $("client-quickbooks-status").textContent = client.quickbooks
        ? "Linked to QuickBooks customer " + (client.quickbooks.display_name || client.quickbooks.customer_id) + "."
        : "Not linked to a QuickBooks customer yet.";
      // The QuickBooks screen plugs in here when it exists (owned by the QuickBooks work).
      if (window.W360.slots && typeof window.W360.slots.clientQuickBooks === "function") {
        window.W360.slots.clientQuickBooks(qbo, client, options || (client.id === returnFor ? { returnTo: returnTo } : {}));
      }
    }
    $("client-rate-changes-section").hidden = !client;
    if (client) {
      rateChanges.load({
        path: "/api/clients/" + client.id + "/rate-changes",
        currency: client.currency,
        subject: client.name,
        base: client.hourly_rate
          ? "Before the first change, the client's hourly rate applies: " + fmt.money(client.hourly_rate, client.currency) + " an hour."
          : "Before the first change, the site's default rate in Settings applies: this client has no hourly rate of its own.",
        empty: "No rate changes: the client bills at " + (client.hourly_rate ? "its hourly rate" : "the site's default rate") + " whatever the date.",
      });
    }
    $("client-editor").hidden = false;
    $("new-client").setAttribute("aria-expanded", "true");
    form.name.focus();
  }

  function closeEditor() {
    $("client-editor").hidden = true;
    $("new-client").setAttribute("aria-expanded", "false");
    editing = null;
    $("new-client").focus();
  }

  function formBody(form) {
    var body = {
      name: form.name.value.trim(),
      currency: form.currency.value,
      hourly_rate: form.hourly_rate.value === "" ? null : form.hourly_rate.value,
      billing_email: form.billing_email.value.trim() || null,
      address: form.address.value.trim() || null,
    };
    return body;
  }

  $("client-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var form = event.target, body = formBody(form), wasEditing = editing;
    if (!body.name) {
      form.name.setAttribute("aria-invalid", "true");
      form.name.focus();
      ui.message(formStatus, "error", "Check the form", "A client needs a name.");
      return;
    }
    // A QuickBooks customer chosen in the form but not linked yet is linked by Save too.
    var slots = window.W360.slots || {};
    var pendingLink = wasEditing && slots.clientQuickBooksPending ? slots.clientQuickBooksPending() : null;
    ui.busy($("client-save"), wasEditing ? "Saving…" : "Creating…", function () {
      var call = wasEditing ? api.patch("/api/clients/" + wasEditing.id, body) : api.post("/api/clients", body);
      if (pendingLink) call = call.then(function (saved) { return pendingLink().then(function () { return saved; }); });
      return call.then(function (saved) {
        closeEditor();
        return load().then(function () {
          var text = wasEditing ? saved.name + " was saved." : saved.name + " was created.";
          var title = wasEditing ? "Client saved" : "Client created";
          var now = clients.filter(function (c) { return c.id === saved.id; })[0];
          if (returnTo && returnFor === saved.id && pendingLink && now && now.quickbooks) {
            // Linked by Save, as the invoice that could not sync asked: offer the way back.
            ui.message(pageStatus, "success", title, text + " It is invoiced as " + now.quickbooks.display_name + " in QuickBooks.",
              h("div", { class: "button-group" }, W360.qbo.backToInvoice(returnTo)));
          } else {
            ui.showSuccess(pageStatus, title, text);
          }
        });
      }).catch(function (error) { showRefusal(formStatus, error, wasEditing ? "The client was not saved" : "The client was not created"); });
    });
  });
  $("client-cancel").addEventListener("click", closeEditor);
  $("new-client").addEventListener("click", function () { openEditor(null); });

  window.W360.slots = window.W360.slots || {};
  // Linking or unlinking a QuickBooks customer shows in the list at once.
  document.addEventListener("w360:client-quickbooks-changed", function () { load(); });
  load().then(function () {
    // Opened from elsewhere (an invoice that cannot sync): straight to that client's form.
    var preset = W360.page.param("client_id");
    var client = preset && clients.filter(function (c) { return String(c.id) === String(preset); })[0];
    if (client) {
      var back = W360.page.param("return_to");
      returnTo = back && /^\d+$/.test(back) ? back : null;
      returnFor = client.id;
      openEditor(client, { returnTo: returnTo });
      var qbo = $("client-quickbooks");
      if (qbo.scrollIntoView) qbo.scrollIntoView({ block: "start" });
    }
  });
})();
