/*
 * QuickBooks on the pages: the connection (Settings → Integrations), a client's QuickBooks
 * customer (Manage → Clients), and what the Invoices page shares: status lozenges and
 * what to do about a QuickBooks error (the guide's troubleshooting list).
 *
 * The slots are called by settings.js and clients.js:
 *   W360.slots.quickbooksConnection(section)
 *   W360.slots.clientQuickBooks(section, client)
 */
(function () {
  "use strict";
  var api = W360.api, ui = W360.ui, fmt = W360.fmt, h = ui.h;
  var modules = W360.page.modules;

  /* --- shared: lozenges and fixes --------------------------------------------------------- */

  /* QuickBooks' own status of an invoice, named as QuickBooks': beside the local
     "Finalized", a bare "Draft" read as "FINALIZED DRAFT". The short name is for sentences
     ("… is in QuickBooks (Paid)"), the label for lozenges, in the invoice and the list. */
  var QBO_STATUS = {
    not_synced: ["Not synced", "", "Not in QuickBooks"],
    draft: ["Draft", "", "QuickBooks: Draft"],
    sent: ["Sent", "lozenge-inprogress", "QuickBooks: Sent"],
    partially_paid: ["Partially paid", "lozenge-moved", "QuickBooks: Partially paid"],
    paid: ["Paid", "lozenge-success", "QuickBooks: Paid"],
    overdue: ["Overdue", "lozenge-removed", "QuickBooks: Overdue"],
    voided: ["Voided", "lozenge-removed", "QuickBooks: Voided"],
    deleted: ["Deleted in QuickBooks", "lozenge-removed", "QuickBooks: Deleted"],
  };

  function statusLozenge(status) {
    var name = String(status || "Unknown").replace(/_/g, " ");
    var known = QBO_STATUS[status] || [name, "", "QuickBooks: " + name];
    return h("span", { class: "lozenge " + known[1], "data-qbo-status": status || "", title: "Status in QuickBooks: " + known[0] }, known[2]);
  }

  var CONNECTION = {
    connected: ["Connected", "lozenge-success"],
    expiring: ["Expiring soon", "lozenge-moved"],
    expired: ["Expired", "lozenge-removed"],
    disconnected: ["Not connected", ""],
  };

  function connectionLozenge(state) {
    var known = CONNECTION[state] || CONNECTION.disconnected;
    return h("span", { class: "lozenge " + known[1], "data-connection-state": state }, known[0]);
  }

  function goButton(label, module, data) {
    return h("button", {
      type: "button", class: "btn btn-compact", "data-go": module,
      onclick: function () { W360.page.go(modules[module], data || {}); },
    }, label);
  }

  /* What to do about an error from QuickBooks' side of the app: a sentence and a button. */
  function fixFor(error, context) {
    var code = error && error.code;
    var client = context && context.client;
    var invoice = context && context.invoice;
    // Manage → Clients, on the client's form, with a way back to this invoice once linked.
    var toClient = client ? { client_id: client.id } : {};
    if (client && invoice && invoice.id) toClient.return_to = invoice.id;
    if (code === "client_not_linked") {
      return {
        text: "Link " + (client ? client.name : "the client") + " to a QuickBooks customer in Manage → Clients (Edit → QuickBooks), then sync again.",
        action: goButton("Link the client in Manage → Clients", "clients", toClient),
      };
    }
    if (code === "currency_mismatch") {
      // On the client's own form the message says it all: choose another customer there.
      if (!invoice) return { text: null, action: null };
      return {
        text: "Link " + (client ? client.name : "the client") + " to a QuickBooks customer in the invoice's currency in Manage → Clients, then sync again.",
        action: goButton("Choose another customer in Manage → Clients", "clients", toClient),
      };
    }
    if (code === "quickbooks_not_connected" || code === "quickbooks_reconnect_required") {
      return {
        text: code === "quickbooks_not_connected"
          ? "A Jira administrator connects QuickBooks in Settings → Integrations (Connect to QuickBooks)."
          : "A Jira administrator reconnects QuickBooks in Settings → Integrations (Reconnect QuickBooks); the connection lasts 100 days.",
        action: goButton(code === "quickbooks_not_connected" ? "Connect QuickBooks in Settings" : "Reconnect QuickBooks in Settings", "settings"),
      };
    }
    if (code === "invoice_not_finalized") {
      return { text: "Only finalized invoices can be synced: review the invoice, then click Finalize Invoice.", action: null };
    }
    if (code === "quickbooks_object_not_found" || code === "quickbooks_customer_not_found" || code === "quickbooks_customer_inactive") {
      return {
        text: "Missing customer? Confirm the customer exists (and is active) in QuickBooks, then refresh the customer list in Manage → Clients and link it again.",
        action: goButton("Refresh customers in Manage → Clients", "clients", toClient),
      };
    }
    if (code === "customer_already_linked") {
      return { text: "Unlink the customer from the other client first (Manage → Clients), or choose another customer.", action: null };
    }
    if (code === "quickbooks_throttled" || code === "quickbooks_unavailable") {
      return { text: "Wait a minute, then try again.", action: null };
    }
    if (code === "quickbooks_rejected") {
      return { text: "Correct what QuickBooks names (in QuickBooks or on the invoice), then try again.", action: null };
    }
    return null;
  }

  /* An error box with the fix for QuickBooks errors, the generic next step otherwise. */
  function showQuickBooksError(container, error, title, context) {
    var fix = fixFor(error, context);
    if (!fix) return ui.showError(container, error, title);
    var extra = h("div", null, fix.text ? h("p", { class: "next-step", text: fix.text }) : null, fix.action ? h("div", { class: "button-group" }, fix.action) : null);
    var box = ui.message(container, "error", title, error.message, extra);
    if (error.code) box.setAttribute("data-error-code", error.code);
    return box;
  }

  /* --- Settings → Integrations: the connection ----------------------------------------- */

  var POLL_MS = 1500;
  var CONNECT_WAIT_MS = 10 * 60 * 1000;

  function quickbooksConnection(section) {
    section.classList.remove("slot-todo");
    ui.clear(section);
    var status = h("div", { id: "qbo-status", "aria-live": "polite" });
    var view = h("div", { id: "qbo-connection" });
    var preferences = h("div", { id: "qbo-preferences" });
    section.append(view, status, preferences);
    var connection = null;
    var waiting = null; // {timer, started, before, win}
    // Whether this person may connect and disconnect (a Jira administrator): GET /api/me.
    // Unknown (it failed): the controls show, and the API says who may use them.
    var manage = true;
    var ADMIN_ONLY = "Only a Jira administrator can connect or disconnect QuickBooks.";

    function facts(c) {
      var list = h("dl", { class: "facts" });
      function fact(label, value, id) { list.append(h("div", null, h("dt", null, label), h("dd", { id: id || null }, value))); }
      fact("Company", c.company_name || (c.realm_id ? "Company " + c.realm_id : "—"), "qbo-company");
      if (c.realm_id) fact("Company id (realm)", c.realm_id);
      if (c.connected_at) fact("Connected", fmt.day(c.connected_at));
      if (c.state === "expired") fact("Connection ends", "Ended: QuickBooks no longer accepts it", "qbo-expiry");
      else if (c.expires_at) fact("Connection ends", fmt.day(c.expires_at) + " (" + c.days_left + " day" + (c.days_left === 1 ? "" : "s") + " left)", "qbo-expiry");
      return list;
    }

    function render() {
      ui.clear(view);
      var c = connection;
      var head = h("p", { class: "button-group" }, connectionLozenge(c.state),
        c.connected || c.state === "expired" ? h("strong", null, c.company_name || "") : null);
      view.appendChild(head);
      var actions = h("div", { class: "button-group", id: "qbo-actions" });
      // Someone else reconnects: say who, instead of a button the API would refuse.
      var reconnectBy = manage ? "Click Reconnect QuickBooks" : "Ask a Jira administrator to reconnect QuickBooks here";
      if (c.state === "disconnected") {
        view.appendChild(h("p", { class: "subtle" },
          "Connect your QuickBooks Online company so Worklog360 can read its customers and create your finalized invoices in it. The connection lasts 100 days; Worklog360 reminds you before it ends."));
        if (manage) actions.appendChild(h("button", { type: "button", class: "btn btn-primary edit-only", id: "qbo-connect", onclick: function (e) { connect(e.currentTarget); } }, "Connect to QuickBooks"));
      } else {
        view.appendChild(facts(c));
        if (c.state === "expiring") {
          ui.message(view.appendChild(h("div")), "warning", "The QuickBooks connection ends in " + c.days_left + " day" + (c.days_left === 1 ? "" : "s"),
            "QuickBooks connections last 100 days. " + (manage ? "Reconnect QuickBooks now" : "Ask a Jira administrator to reconnect QuickBooks") +
            " to start another 100 days; nothing else changes.");
        }
        if (c.state === "expired") {
          ui.message(view.appendChild(h("div")), "error", "The QuickBooks connection has expired",
            "Invoices cannot be synced and payments are not updated until QuickBooks is reconnected. " + reconnectBy + " and sign in to the same company.");
        }
        var primary = c.state === "expired" || c.state === "expiring";
        if (manage) {
          actions.appendChild(h("button", { type: "button", class: "btn edit-only" + (primary ? " btn-primary" : ""), id: "qbo-reconnect", onclick: function (e) { connect(e.currentTarget); } },
            c.state === "expired" ? "Reconnect QuickBooks" : "Reconnect"));
          actions.appendChild(h("button", { type: "button", class: "btn btn-subtle edit-only", id: "qbo-disconnect", onclick: function () { confirmDisconnect(actions); } }, "Disconnect"));
        }
      }
      view.appendChild(actions);
      if (!manage) view.appendChild(h("p", { class: "admin-note", id: "qbo-admin-note" }, ADMIN_ONLY));
      var wasHidden = preferences.hidden;
      preferences.hidden = c.state === "disconnected";
      if (!preferences.hidden && (wasHidden || c.connected !== listsFromLive)) loadChoices(c.connected);
    }

    function load() {
      return Promise.all([
        api.get("/api/quickbooks/connection"),
        W360.me().catch(function () { return null; }),
      ]).then(function (answers) {
        connection = answers[0];
        manage = !answers[1] || answers[1].can_manage_quickbooks !== false;
        render();
        return connection;
      });
    }

    function confirmDisconnect(actions) {
      var box = h("div", { class: "confirm danger", role: "alertdialog", "aria-labelledby": "qbo-disconnect-title", "aria-describedby": "qbo-disconnect-text" },
        h("h3", { id: "qbo-disconnect-title" }, "Disconnect QuickBooks?"),
        h("p", { id: "qbo-disconnect-text" }, "Worklog360 stops syncing invoices and reading payments from " + (connection.company_name || "the company") +
          ". Invoices already in QuickBooks stay there, and client links are kept for when you connect again."));
      var yes = h("button", { type: "button", class: "btn btn-danger" }, "Disconnect");
      var no = h("button", { type: "button", class: "btn btn-subtle" }, "Keep connected");
      box.appendChild(h("div", { class: "button-group" }, yes, no));
      box.addEventListener("keydown", function (e) { if (e.key === "Escape") { box.remove(); $("qbo-disconnect").focus(); } });
      actions.after(box);
      yes.focus();
      no.addEventListener("click", function () { box.remove(); document.getElementById("qbo-disconnect").focus(); });
      yes.addEventListener("click", function () {
        ui.busy(yes, "Disconnecting…", function () {
          return api.del("/api/quickbooks/connection").then(function (c) {
            connection = c;
            render();
            ui.showSuccess(status, "QuickBooks disconnected", "Worklog360 no longer has access to the company. Connect again at any time.");
          }).catch(function (error) { box.remove(); showQuickBooksError(status, error, "QuickBooks was not disconnected"); });
        });
      });
    }

    function $(id) { return document.getElementById(id); }

    function stopWaiting() {
      if (!waiting) return;
      clearTimeout(waiting.timer);
      waiting = null;
    }

    function finishWaiting(c) {
      stopWaiting();
      // Lists read from a live connection are read again: the company may be another one.
      // (From an expired one, render() reads them.)
      var reread = !preferences.hidden && listsFromLive === true;
      connection = c;
      render();
      if (reread) loadChoices(true);
      ui.showSuccess(status, "QuickBooks is connected", "Worklog360 is connected to " + (c.company_name || "your company") +
        " until " + fmt.day(c.expires_at) + ". Next: link your clients to QuickBooks customers in Manage → Clients.");
    }

    function poll() {
      if (!waiting) return;
      if (Date.now() - waiting.started > CONNECT_WAIT_MS) {
        stopWaiting();
        ui.message(status, "warning", "Still not connected", "Connecting has to be finished within 10 minutes. Click Connect to QuickBooks to start again.");
        return;
      }
      api.get("/api/quickbooks/connection").then(function (c) {
        if (!waiting) return;
        var fresh = c.connected && (c.connected_at !== waiting.before || !waiting.wasConnected);
        if (fresh) finishWaiting(c);
        else waiting.timer = setTimeout(poll, POLL_MS);
      }).catch(function () { if (waiting) waiting.timer = setTimeout(poll, POLL_MS * 2); });
    }

    function waitingMessage(url) {
      var cancel = h("button", { type: "button", class: "btn btn-subtle btn-compact", onclick: function () { stopWaiting(); ui.message(status, "info", "Connecting stopped", "QuickBooks was not connected. Click Connect to QuickBooks to start again."); } }, "Stop waiting");
      var link = url ? h("a", { href: url, target: "_blank", rel: "opener", id: "qbo-connect-link" }, "open QuickBooks' sign-in page") : null;
      var box = ui.message(status, "info", "Waiting for QuickBooks…",
        "Sign in to QuickBooks and click Connect in the " + (W360.door === "forge" ? "tab" : "window") + " that opened. This page notices by itself when you are done.",
        h("div", null, h("div", { class: "loading" }, h("span", { class: "spinner", "aria-hidden": "true" }), "Waiting for the connection"),
          url ? h("p", null, "No window? Your browser may have blocked it: ", link, ".") : null,
          cancel));
      box.setAttribute("data-waiting", "true");
    }

    function startWaiting(before, url) {
      stopWaiting();
      waiting = { started: Date.now(), before: before.connected_at || null, wasConnected: !!before.connected, timer: null };
      waitingMessage(url);
      waiting.timer = setTimeout(poll, POLL_MS);
    }

    /* Through Forge, the page has no Jira token to put in a URL and may not open windows
       itself: it asks the API for a single-use link and has Jira open it (Jira asks the
       person first). */
    function connectThroughLink(button) {
      var before = connection || {};
      ui.busy(button, "Opening QuickBooks…", function () {
        return api.post("/api/quickbooks/connect-link").then(function (link) {
          return W360.page.open(link.url).then(function () {
            startWaiting(before, null);
          }, function () {
            ui.message(status, "info", "QuickBooks was not opened",
              "You chose not to leave Jira, so nothing was connected. Click Connect to QuickBooks when you are ready: Jira opens QuickBooks' sign-in page in a new tab.");
          });
        }).catch(function (error) { ui.showError(status, error, "QuickBooks could not be opened"); });
      });
    }

    function connect(button) {
      if (W360.door === "forge") return connectThroughLink(button);
      // Opened now, in the click, so that the browser allows it; pointed at Intuit once
      // Jira has given a token.
      var win = null;
      try { win = window.open("", "w360-quickbooks", "popup,width=720,height=780"); } catch (e) { win = null; }
      var before = connection || {};
      ui.busy(button, "Opening QuickBooks…", function () {
        return Promise.resolve(window.AP.context.getToken()).then(function (token) {
          var base = (document.documentElement.getAttribute("data-api-base") || "").replace(/\/$/, "");
          var url = base + "/quickbooks/connect?jwt=" + encodeURIComponent(token);
          if (win && !win.closed) {
            try { win.location.href = url; } catch (e) { win = null; }
          }
          startWaiting(before, win ? null : url);
          if (win) try { win.focus(); } catch (e) { /* the page still waits */ }
        }).catch(function (error) {
          if (win) win.close();
          ui.showError(status, error, "QuickBooks could not be opened");
        });
      });
    }

    // The callback page tells us how it ended (when the browser kept the window's opener).
    window.addEventListener("message", function (event) {
      if (event.origin !== window.location.origin) return;
      var data = event.data;
      if (!data || data.w360 !== "quickbooks-connect" || data.code === "in_progress") return;
      if (data.ok) {
        load().then(function (c) { if (c.connected) finishWaiting(c); });
      } else {
        stopWaiting();
        var box = ui.message(status, "error", data.heading || "QuickBooks was not connected", data.message || "", h("p", { class: "next-step", text: data.fix || "" }));
        box.setAttribute("data-error-code", data.code || "");
      }
    });
    window.addEventListener("focus", function () { if (waiting) { clearTimeout(waiting.timer); poll(); } });

    /* service item and tax code: chosen from the company's own lists, stored as ids */
    var ITEM_NONE = "Standard “Services” item (made if missing)";
    var TAX_NONE = "QuickBooks' default for the line";
    preferences.hidden = true; // until a connection is read
    preferences.append(
      h("h4", { class: "subsection-heading" }, "Invoice lines in QuickBooks"),
      h("form", { id: "qbo-preferences-form", novalidate: true },
        h("fieldset", { class: "edit-fields" }, h("div", { class: "form-grid" },
          h("div", { class: "field" },
            h("label", { for: "qbo-item" }, "Service item"),
            h("select", { id: "qbo-item", name: "quickbooks_item_id", "aria-describedby": "qbo-item-help" }, h("option", { value: "" }, ITEM_NONE)),
            h("span", { class: "help", id: "qbo-item-help" }, "The QuickBooks product or service that invoice lines are billed as (in QuickBooks: Sales → Products and services)."),
            h("span", { class: "choice-note", id: "qbo-item-note", "aria-live": "polite" })),
          h("div", { class: "field" },
            h("label", { for: "qbo-tax" }, "Tax code"),
            h("select", { id: "qbo-tax", name: "quickbooks_tax_code_id", "aria-describedby": "qbo-tax-help" }, h("option", { value: "" }, TAX_NONE)),
            h("span", { class: "help", id: "qbo-tax-help" }, "The sales tax or VAT code on every invoice line."),
            h("span", { class: "choice-note", id: "qbo-tax-note", "aria-live": "polite" })))),
        h("div", { class: "form-actions edit-only" }, h("button", { type: "submit", class: "btn btn-primary", id: "qbo-preferences-save" }, "Save QuickBooks settings"))),
      h("div", { id: "qbo-preferences-status", "aria-live": "polite" }));
    var prefsForm = preferences.querySelector("form");
    var prefsStatus = preferences.querySelector("#qbo-preferences-status");
    var savedPrefs = { quickbooks_item_id: null, quickbooks_tax_code_id: null };
    var names = { quickbooks_item_id: {}, quickbooks_tax_code_id: {} };

    /* The options of one select: "none" first, the company's choices, and a saved id the
       company no longer offers (kept visible, with a note, until someone changes it). */
    function fillChoices(field, choices, none, noteId, what) {
      var select = prefsForm[field];
      ui.clear(select);
      select.appendChild(h("option", { value: "" }, none));
      names[field] = {};
      (choices || []).forEach(function (c) {
        names[field][c.id] = c.name;
        select.appendChild(h("option", { value: c.id }, c.name + (c.description ? " – " + c.description : "")));
      });
      var saved = savedPrefs[field];
      var note = document.getElementById(noteId);
      note.textContent = "";
      if (saved && choices && !names[field][saved]) {
        select.appendChild(h("option", { value: saved }, "Id " + saved + " (not in QuickBooks' list)"));
        note.textContent = "The saved " + what + " (id " + saved + ") is not an active one in QuickBooks any more: choose another and save.";
      } else if (saved && !choices) {
        select.appendChild(h("option", { value: saved }, "Id " + saved));
      }
      select.value = saved || "";
    }

    /* The company's lists need a live connection; an expired one shows the saved ids
       only, until it is reconnected. */
    var listsFromLive = null;
    function loadChoices(live) {
      if (live === undefined) live = !connection || connection.connected;
      listsFromLive = live;
      var offline = Promise.resolve({ error: { code: "quickbooks_reconnect_required", message: "Reconnect QuickBooks to choose from the company's items and tax codes." } });
      var lists = Promise.all([
        live ? api.get("/api/quickbooks/items").catch(function (e) { return { error: e }; }) : offline,
        live ? api.get("/api/quickbooks/tax-codes").catch(function (e) { return { error: e }; }) : offline,
        api.get("/api/settings"),
      ]);
      return lists.then(function (answers) {
        var items = answers[0], taxes = answers[1], settings = answers[2];
        savedPrefs = { quickbooks_item_id: settings.quickbooks_item_id, quickbooks_tax_code_id: settings.quickbooks_tax_code_id };
        fillChoices("quickbooks_item_id", items.error ? null : items.items, ITEM_NONE, "qbo-item-note", "service item");
        fillChoices("quickbooks_tax_code_id", taxes.error ? null : taxes.items, TAX_NONE, "qbo-tax-note", "tax code");
        if (!taxes.error) {
          document.getElementById("qbo-tax-help").textContent = taxes.required
            ? "This company charges VAT or GST on every line, so QuickBooks needs a tax code on each: choose the one Worklog360's invoice lines carry."
            : "A US company: QuickBooks works out sales tax itself. Choose TAX or NON to mark the lines taxable or not, or leave QuickBooks' default.";
        }
        // Said here, on the page where the fix is: no button leading back to it.
        var failed = items.error || taxes.error;
        if (!live) ui.message(prefsStatus, "info", "The saved service item and tax code are shown by id", failed.message);
        else if (failed) ui.message(prefsStatus, "error", "QuickBooks' items and tax codes could not be read", failed.message);
      }).catch(function (error) { ui.showError(prefsStatus, error, "QuickBooks' items and tax codes could not be read"); });
    }

    function label(field) {
      var id = savedPrefs[field];
      return id ? (names[field][id] || "id " + id) : null;
    }

    prefsForm.addEventListener("submit", function (event) {
      event.preventDefault();
      var body = {
        quickbooks_item_id: prefsForm.quickbooks_item_id.value || null,
        quickbooks_tax_code_id: prefsForm.quickbooks_tax_code_id.value || null,
      };
      ui.busy(document.getElementById("qbo-preferences-save"), "Saving…", function () {
        return api.patch("/api/settings", body).then(function (s) {
          savedPrefs = { quickbooks_item_id: s.quickbooks_item_id, quickbooks_tax_code_id: s.quickbooks_tax_code_id };
          ["qbo-item-note", "qbo-tax-note"].forEach(function (id) { document.getElementById(id).textContent = ""; });
          ui.showSuccess(prefsStatus, "QuickBooks settings saved", "Invoices synced from now on are billed as " +
            (label("quickbooks_item_id") || "the standard Services item") +
            (s.quickbooks_tax_code_id ? ", with the tax code " + label("quickbooks_tax_code_id") : ", with QuickBooks' default tax code") + ".");
        }).catch(function (error) {
          var field = { quickbooks_item_not_found: "quickbooks_item_id", quickbooks_item_unusable: "quickbooks_item_id", quickbooks_tax_code_not_found: "quickbooks_tax_code_id" }[error.code];
          if (field) prefsForm[field].setAttribute("aria-invalid", "true");
          showQuickBooksError(prefsStatus, error, "The QuickBooks settings were not saved");
        });
      });
    });
    prefsForm.addEventListener("change", function (e) { if (e.target.removeAttribute) e.target.removeAttribute("aria-invalid"); });

    ui.loading(view, "Reading the QuickBooks connection…");
    load().catch(function (error) { ui.clear(view); ui.showError(status, error, "The QuickBooks connection could not be read"); });
  }

  /* --- Manage → Clients: the client's QuickBooks customer -------------------------------- */

  var SEARCH_DELAY_MS = 200;
  var pendingLink = null; // a function linking the customer chosen but not linked yet

  /* "Back to invoice INV-7": for someone sent here from an invoice that could not sync. */
  function backToInvoice(invoiceId) {
    var button = h("button", {
      type: "button", class: "btn btn-primary btn-compact", "data-back-to-invoice": invoiceId,
      onclick: function () { W360.page.go(modules.invoices, { invoice_id: invoiceId }); },
    }, "Back to the invoice");
    api.get("/api/invoices/" + encodeURIComponent(invoiceId)).then(function (invoice) {
      if (invoice && invoice.number) button.textContent = "Back to invoice " + invoice.number;
    }).catch(function () { /* the plain label still goes back */ });
    return button;
  }

  /* Why a customer cannot be chosen for this client, or null. */
  function cannotChoose(customer, client, linked) {
    if (!customer.active) {
      return customer.display_name + " is inactive in QuickBooks. Make the customer active in QuickBooks, click Refresh customers, then link it.";
    }
    var holder = customer.linked_client;
    if (holder && holder.id !== client.id && !(linked && linked.customer_id === customer.id)) {
      return customer.display_name + " is linked to " + holder.name + ", and a QuickBooks customer is linked to one client only. Unlink it from " +
        holder.name + " first (Edit " + holder.name + " → QuickBooks → Unlink), or choose another customer.";
    }
    if (customer.currency && client.currency && customer.currency !== client.currency) {
      return client.name + " bills in " + client.currency + ", but the QuickBooks customer " + customer.display_name + " is in " + customer.currency +
        ": choose a " + client.currency + " customer, or change the client's currency.";
    }
    return null;
  }

  function clientQuickBooks(section, client, options) {
    var returnTo = options && options.returnTo ? String(options.returnTo) : null;
    var slot = section.querySelector("[data-slot=client-quickbooks]");
    slot.classList.remove("slot-todo");
    ui.clear(slot);
    pendingLink = null;
    var linked = client.quickbooks || null;
    var chosen = null;
    var status = h("div", { id: "qbo-link-status", "aria-live": "polite" });
    var current = h("div", { id: "qbo-link-current" });
    var picker = h("div", { id: "qbo-link-picker" });
    slot.append(current, picker, status);

    function announceChange(linkedNow) {
      document.dispatchEvent(new CustomEvent("w360:client-quickbooks-changed", { detail: { client_id: client.id, linked: !!linkedNow } }));
    }

    function renderCurrent() {
      ui.clear(current);
      if (!linked) {
        current.appendChild(h("p", { id: "client-quickbooks-status" }, h("span", { class: "lozenge" }, "Not linked"), " ",
          "Choose the QuickBooks customer " + client.name + " is invoiced as. Only linked clients can have invoices synced."));
        return;
      }
      var unlink = h("button", { type: "button", class: "btn btn-compact", id: "qbo-unlink" }, "Unlink");
      current.appendChild(h("p", { id: "client-quickbooks-status", class: "button-group" },
        h("span", { class: "lozenge lozenge-success" }, "Linked"),
        h("span", null, "QuickBooks customer ", h("strong", null, linked.display_name || linked.customer_id)),
        linked.active === false ? h("span", { class: "lozenge lozenge-removed" }, "Inactive in QuickBooks") : null,
        unlink));
      if (linked.active === false) {
        ui.message(current.appendChild(h("div")), "warning", "This customer is inactive in QuickBooks",
          "Invoices cannot be created for an inactive customer. Make it active in QuickBooks and refresh the customers, or link another one.");
      }
      unlink.addEventListener("click", function () {
        ui.busy(unlink, "Unlinking…", function () {
          return api.del("/api/clients/" + client.id + "/quickbooks-customer").then(function () {
            var was = linked;
            linked = null;
            client.quickbooks = null;
            renderCurrent();
            ui.showSuccess(status, "Unlinked", client.name + " is no longer linked to " + (was.display_name || "the customer") + ". Its invoices cannot be synced until it is linked again.");
            announceChange();
            input.focus();
          }).catch(function (error) { showQuickBooksError(status, error, "The customer was not unlinked", { client: client }); });
        });
      });
    }

    var listId = "qbo-customer-options";
    var input = h("input", {
      type: "search", id: "qbo-customer", role: "combobox", "aria-autocomplete": "list", "aria-expanded": "false",
      "aria-controls": listId, autocomplete: "off", placeholder: "Type a customer's name", "aria-describedby": "qbo-customer-help", spellcheck: "false",
    });
    var list = h("ul", { id: listId, role: "listbox", "aria-label": "QuickBooks customers", hidden: true });
    var linkButton = h("button", { type: "button", class: "btn btn-primary", id: "qbo-link", disabled: true }, "Link customer");
    var refresh = h("button", { type: "button", class: "btn btn-link", id: "qbo-refresh" }, "Refresh customers");
    picker.append(
      h("div", { class: "field" },
        h("label", { for: "qbo-customer" }, "Link to QuickBooks customer"),
        h("div", { class: "combobox" }, input, list),
        h("span", { class: "help", id: "qbo-customer-help" }, "Type to search your QuickBooks customers; pick one with the arrow keys and Enter, or click it.")),
      h("div", { class: "form-actions" }, linkButton,
        h("span", { class: "subtle" }, "Missing customer? Create it in QuickBooks, then "), refresh));

    var options = [];
    var active = -1;
    var searchTimer = null;
    var sequence = 0;

    function close() {
      list.hidden = true;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
      active = -1;
    }

    function setActive(index) {
      var items = list.querySelectorAll("[role=option]");
      items.forEach(function (item) { item.classList.remove("active"); });
      active = index;
      if (index < 0 || index >= items.length) { input.removeAttribute("aria-activedescendant"); return; }
      items[index].classList.add("active");
      input.setAttribute("aria-activedescendant", items[index].id);
      items[index].scrollIntoView({ block: "nearest" });
    }

    function choose(customer) {
      var why = cannotChoose(customer, client, linked);
      if (why) {
        ui.message(status, "warning", customer.display_name + " cannot be linked to " + client.name, why)
          .setAttribute("data-refused-customer", customer.id);
        return;
      }
      chosen = customer;
      input.value = customer.display_name;
      close();
      linkButton.disabled = false;
      pendingLink = function () { return link(); };
      ui.clear(status);
    }

    function renderOptions(items, query) {
      // A late answer (the search on focus, then the one for what was typed) must not undo
      // the option the person already moved to with the arrow keys.
      var kept = active >= 0 && options[active] ? options[active].id : null;
      ui.clear(list);
      options = items;
      if (!items.length) {
        list.appendChild(h("li", { class: "no-options", role: "option", "aria-disabled": "true", id: listId + "-none" },
          query ? "No customer matches “" + query + "”. Missing customer? Refresh customers." : "No customers in QuickBooks yet."));
      }
      items.forEach(function (c, index) {
        var taken = linked && linked.customer_id === c.id;
        var why = cannotChoose(c, client, linked);
        var holder = c.linked_client && c.linked_client.id !== client.id ? c.linked_client : null;
        var otherCurrency = c.currency && client.currency && c.currency !== client.currency;
        var option = h("li", {
          role: "option", id: listId + "-" + c.id, "data-customer": c.id, "aria-selected": taken ? "true" : "false",
          "aria-disabled": why ? "true" : null, title: why || null,
        }, h("span", { class: "option-name" }, c.display_name),
          h("span", { class: "option-meta" },
            c.currency ? h("span", { class: "option-currency" + (otherCurrency ? " mismatch" : ""), "data-currency": c.currency,
              "aria-label": "in " + c.currency + (otherCurrency ? ", not " + client.currency : "") }, c.currency) : null,
            holder ? h("span", { class: "lozenge", "data-linked-to": holder.id }, "Linked to " + holder.name) : null,
            c.active ? null : h("span", { class: "lozenge" }, "Inactive")));
        option.addEventListener("mousedown", function (e) { e.preventDefault(); });
        option.addEventListener("click", function () { choose(c); });
        option.addEventListener("mousemove", function () { if (active !== index) setActive(index); });
        list.appendChild(option);
      });
      list.hidden = false;
      input.setAttribute("aria-expanded", "true");
      setActive(kept === null ? -1 : items.map(function (c) { return c.id; }).indexOf(kept));
    }

    /* What the search compares, as the API does: case-folded, typographic apostrophes plain. */
    function searchKey(text) { return String(text || "").replace(/[\u2019\u2018\u02bc]/g, "'").toLowerCase(); }

    /* The list for what the field says now. An answer for earlier text (the search made on
       focus, or before the last keystrokes) is narrowed to it here, never shown as it came:
       Enter must not choose a customer the typed text does not name. */
    function showAnswer(items, answeredFor, latest) {
      var now = input.value.trim();
      var key = searchKey(now);
      var shown = now === answeredFor ? items : items.filter(function (c) { return searchKey(c.display_name).indexOf(key) >= 0; });
      if (shown.length || latest) { renderOptions(shown, now); return; }
      ui.clear(list);
      options = [];
      list.appendChild(h("li", { class: "no-options", role: "option", "aria-disabled": "true", id: listId + "-searching" }, "Searching…"));
      list.hidden = false;
      input.setAttribute("aria-expanded", "true");
    }

    var rendered = 0; // the newest search whose answer is shown: older ones never replace it
    function search(refreshFirst) {
      var query = input.value.trim();
      var mine = ++sequence;
      return api.get("/api/quickbooks/customers", { q: query, limit: 25, refresh: refreshFirst ? "true" : null }).then(function (page) {
        if (mine < rendered || document.activeElement !== input) return page;
        rendered = mine;
        showAnswer(page.items, query, mine === sequence);
        return page;
      }).catch(function (error) {
        if (mine !== sequence) return;
        close();
        showQuickBooksError(status, error, "QuickBooks customers could not be read", { client: client });
        throw error;
      });
    }

    input.addEventListener("input", function () {
      chosen = null;
      pendingLink = null;
      linkButton.disabled = true;
      if (!list.hidden) showAnswer(options, null, false); // narrowed at once, searched below
      clearTimeout(searchTimer);
      searchTimer = setTimeout(function () { search(false).catch(function () {}); }, SEARCH_DELAY_MS);
    });
    input.addEventListener("focus", function () { if (!chosen) search(false).catch(function () {}); });
    input.addEventListener("blur", function () { setTimeout(close, 150); });
    input.addEventListener("keydown", function (e) {
      var count = options.length;
      if (e.key === "ArrowDown") {
        e.preventDefault();
        if (list.hidden) { search(false).catch(function () {}); return; }
        if (count) setActive(active + 1 >= count ? 0 : active + 1);
      } else if (e.key === "ArrowUp") {
        e.preventDefault();
        if (count) setActive(active <= 0 ? count - 1 : active - 1);
      } else if (e.key === "Enter") {
        e.preventDefault(); // never submits the client form from here
        if (!list.hidden && active >= 0 && options[active]) choose(options[active]);
        else if (chosen) link();
      } else if (e.key === "Escape") {
        if (!list.hidden) { e.preventDefault(); close(); }
      }
    });

    function link() {
      if (!chosen) return Promise.resolve();
      var customer = chosen;
      return ui.busy(linkButton, "Linking…", function () {
        return api.put("/api/clients/" + client.id + "/quickbooks-customer", { customer_id: customer.id }).then(function (saved) {
          linked = { customer_id: saved.customer_id, display_name: saved.display_name, active: saved.active, currency: saved.currency };
          client.quickbooks = linked;
          chosen = null;
          pendingLink = null;
          input.value = "";
          linkButton.disabled = true;
          renderCurrent();
          var done = client.name + " is invoiced as " + saved.display_name + " in QuickBooks. Its finalized invoices can be synced now.";
          if (returnTo) {
            ui.message(status, "success", "Linked to QuickBooks", done, h("div", { class: "button-group" }, backToInvoice(returnTo)));
          } else {
            ui.showSuccess(status, "Linked to QuickBooks", done);
          }
          announceChange(true);
        }).catch(function (error) {
          showQuickBooksError(status, error, "The customer was not linked", { client: client });
          throw error;
        });
      }).finally(function () { linkButton.disabled = !chosen; }); // busy() re-enables it
    }
    linkButton.addEventListener("click", function () { link().catch(function () {}); });

    // Reads QuickBooks again and says so, with the list closed: opened, it would cover its
    // own confirmation. The next focus or keystroke in the field shows the fresh list.
    refresh.addEventListener("click", function () {
      var query = input.value.trim();
      var mine = ++sequence;
      rendered = mine; // a search answer still on its way must not open the list
      clearTimeout(searchTimer);
      close();
      ui.busy(refresh, "Refreshing customers…", function () {
        return api.get("/api/quickbooks/customers", { q: query, limit: 25, refresh: "true" }).then(function (page) {
          if (mine !== sequence) return;
          options = [];
          var one = page.items.length === 1 && !page.next_cursor;
          var count = page.items.length + (page.next_cursor ? "+" : "") + (one ? " customer" : " customers");
          ui.showSuccess(status, "Customers refreshed", "The customer list was read from QuickBooks again: " + count +
            (query ? (one ? " matches “" : " match “") + query + "”" : "") + ". Type in the field to choose one.");
        }).catch(function (error) {
          showQuickBooksError(status, error, "QuickBooks customers could not be read", { client: client });
        });
      }).then(function () { refresh.focus(); });
    });

    renderCurrent();
  }

  window.W360.slots = window.W360.slots || {};
  window.W360.slots.quickbooksConnection = quickbooksConnection;
  window.W360.slots.clientQuickBooks = clientQuickBooks;
  /* The client form's Save also links a customer that was chosen but not linked yet. */
  window.W360.slots.clientQuickBooksPending = function () { return pendingLink; };
  window.W360.qbo = { statusLozenge: statusLozenge, connectionLozenge: connectionLozenge, fixFor: fixFor, showError: showQuickBooksError, STATUS: QBO_STATUS, backToInvoice: backToInvoice };
})();
