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

  var QBO_STATUS = {
    not_synced: ["Not synced", ""],
    draft: ["Draft", ""],
    sent: ["Sent", "lozenge-inprogress"],
    partially_paid: ["Partially paid", "lozenge-moved"],
    paid: ["Paid", "lozenge-success"],
    overdue: ["Overdue", "lozenge-removed"],
    voided: ["Voided", "lozenge-removed"],
    deleted: ["Deleted in QuickBooks", "lozenge-removed"],
  };

  function statusLozenge(status) {
    var known = QBO_STATUS[status] || [String(status || "Unknown").replace(/_/g, " "), ""];
    return h("span", { class: "lozenge " + known[1], "data-qbo-status": status || "" }, known[0]);
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
    if (code === "client_not_linked") {
      return {
        text: "Link " + (client ? client.name : "the client") + " to a QuickBooks customer in Manage → Clients (Edit → QuickBooks), then sync again.",
        action: goButton("Link the client in Manage → Clients", "clients", client ? { client_id: client.id } : {}),
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
        action: goButton("Refresh customers in Manage → Clients", "clients", client ? { client_id: client.id } : {}),
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
    var extra = h("div", null, h("p", { class: "next-step", text: fix.text }), fix.action ? h("div", { class: "button-group" }, fix.action) : null);
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
      if (c.state === "disconnected") {
        view.appendChild(h("p", { class: "subtle" },
          "Connect your QuickBooks Online company so Worklog360 can read its customers and create your finalized invoices in it. The connection lasts 100 days; Worklog360 reminds you before it ends."));
        actions.appendChild(h("button", { type: "button", class: "btn btn-primary edit-only", id: "qbo-connect", onclick: function (e) { connect(e.currentTarget); } }, "Connect to QuickBooks"));
      } else {
        view.appendChild(facts(c));
        if (c.state === "expiring") {
          ui.message(view.appendChild(h("div")), "warning", "The QuickBooks connection ends in " + c.days_left + " day" + (c.days_left === 1 ? "" : "s"),
            "QuickBooks connections last 100 days. Reconnect QuickBooks now to start another 100 days; nothing else changes.");
        }
        if (c.state === "expired") {
          ui.message(view.appendChild(h("div")), "error", "The QuickBooks connection has expired",
            "Invoices cannot be synced and payments are not updated until QuickBooks is reconnected. Click Reconnect QuickBooks and sign in to the same company.");
        }
        var primary = c.state === "expired" || c.state === "expiring";
        actions.appendChild(h("button", { type: "button", class: "btn edit-only" + (primary ? " btn-primary" : ""), id: "qbo-reconnect", onclick: function (e) { connect(e.currentTarget); } },
          c.state === "expired" ? "Reconnect QuickBooks" : "Reconnect"));
        actions.appendChild(h("button", { type: "button", class: "btn btn-subtle edit-only", id: "qbo-disconnect", onclick: function () { confirmDisconnect(actions); } }, "Disconnect"));
      }
      view.appendChild(actions);
      preferences.hidden = c.state === "disconnected";
    }

    function load() {
      return api.get("/api/quickbooks/connection").then(function (c) {
        connection = c;
        render();
        return c;
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
            ui.flag("success", "QuickBooks disconnected", "");
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
      connection = c;
      render();
      ui.showSuccess(status, "QuickBooks is connected", "Worklog360 is connected to " + (c.company_name || "your company") +
        " until " + fmt.day(c.expires_at) + ". Next: link your clients to QuickBooks customers in Manage → Clients.");
      ui.flag("success", "QuickBooks connected", c.company_name || "");
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
        "Sign in to QuickBooks and click Connect in the window that opened. This page notices by itself when you are done.",
        h("div", null, h("div", { class: "loading" }, h("span", { class: "spinner", "aria-hidden": "true" }), "Waiting for the connection"),
          url ? h("p", null, "No window? Your browser may have blocked it: ", link, ".") : null,
          cancel));
      box.setAttribute("data-waiting", "true");
    }

    function connect(button) {
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
          stopWaiting();
          waiting = { started: Date.now(), before: before.connected_at || null, wasConnected: !!before.connected, timer: null };
          waitingMessage(win ? null : url);
          if (win) try { win.focus(); } catch (e) { /* the page still waits */ }
          waiting.timer = setTimeout(poll, POLL_MS);
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

    /* service item and tax code */
    preferences.append(
      h("h4", { style: "margin: 24px 0 8px" }, "Invoice lines in QuickBooks"),
      h("form", { id: "qbo-preferences-form", novalidate: true },
        h("fieldset", { class: "edit-fields" }, h("div", { class: "form-grid" },
          h("div", { class: "field" },
            h("label", { for: "qbo-item" }, "Service item"),
            h("input", { type: "text", id: "qbo-item", name: "quickbooks_item_id", maxlength: "64", autocomplete: "off", inputmode: "numeric", "aria-describedby": "qbo-item-help" }),
            h("span", { class: "help", id: "qbo-item-help" }, "The id of the QuickBooks product/service that invoice lines are billed as (in QuickBooks: Sales → Products and services; the id is in the item's address). Empty: the standard “Services” item.")),
          h("div", { class: "field" },
            h("label", { for: "qbo-tax" }, "Tax code"),
            h("input", { type: "text", id: "qbo-tax", name: "quickbooks_tax_code_id", maxlength: "64", autocomplete: "off", "aria-describedby": "qbo-tax-help" }),
            h("span", { class: "help", id: "qbo-tax-help" }, "The QuickBooks tax code id for invoice lines, for companies outside the US (for example 3). Empty: QuickBooks' default; US companies use NON.")))),
        h("div", { class: "form-actions edit-only" }, h("button", { type: "submit", class: "btn btn-primary", id: "qbo-preferences-save" }, "Save QuickBooks settings"))),
      h("div", { id: "qbo-preferences-status", "aria-live": "polite" }));
    var prefsForm = preferences.querySelector("form");
    var prefsStatus = preferences.querySelector("#qbo-preferences-status");
    api.get("/api/settings").then(function (s) {
      prefsForm.quickbooks_item_id.value = s.quickbooks_item_id || "";
      prefsForm.quickbooks_tax_code_id.value = s.quickbooks_tax_code_id || "";
    }).catch(function () { /* the billing form above says it */ });
    prefsForm.addEventListener("submit", function (event) {
      event.preventDefault();
      var body = {
        quickbooks_item_id: prefsForm.quickbooks_item_id.value.trim() || null,
        quickbooks_tax_code_id: prefsForm.quickbooks_tax_code_id.value.trim() || null,
      };
      ui.busy(document.getElementById("qbo-preferences-save"), "Saving…", function () {
        return api.patch("/api/settings", body).then(function (s) {
          prefsForm.quickbooks_item_id.value = s.quickbooks_item_id || "";
          prefsForm.quickbooks_tax_code_id.value = s.quickbooks_tax_code_id || "";
          ui.showSuccess(prefsStatus, "QuickBooks settings saved", "Invoices synced from now on use " +
            (s.quickbooks_item_id ? "item " + s.quickbooks_item_id : "the standard Services item") +
            (s.quickbooks_tax_code_id ? " and tax code " + s.quickbooks_tax_code_id : "") + ".");
          ui.flag("success", "QuickBooks settings saved", "");
        }).catch(function (error) { ui.showError(prefsStatus, error, "The QuickBooks settings were not saved"); });
      });
    });

    ui.loading(view, "Reading the QuickBooks connection…");
    load().catch(function (error) { ui.clear(view); ui.showError(status, error, "The QuickBooks connection could not be read"); });
  }

  /* --- Manage → Clients: the client's QuickBooks customer -------------------------------- */

  var SEARCH_DELAY_MS = 200;
  var pendingLink = null; // a function linking the customer chosen but not linked yet

  function clientQuickBooks(section, client) {
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

    function announceChange() {
      document.dispatchEvent(new CustomEvent("w360:client-quickbooks-changed", { detail: { client_id: client.id } }));
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
            ui.flag("success", "QuickBooks customer unlinked", client.name);
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
      if (!customer.active) {
        ui.message(status, "warning", customer.display_name + " is inactive in QuickBooks",
          "Make the customer active in QuickBooks, click Refresh customers, then link it.");
        return;
      }
      chosen = customer;
      input.value = customer.display_name;
      close();
      linkButton.disabled = false;
      pendingLink = function () { return link(); };
      ui.clear(status);
      if (customer.currency && client.currency && customer.currency !== client.currency) {
        ui.message(status, "warning", "Different currencies",
          customer.display_name + " is billed in " + customer.currency + " in QuickBooks, while " + client.name + " uses " + client.currency +
          ". QuickBooks refuses an invoice in another currency than its customer's: change the client's currency, or choose another customer.");
      }
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
        var option = h("li", {
          role: "option", id: listId + "-" + c.id, "data-customer": c.id, "aria-selected": taken ? "true" : "false",
          "aria-disabled": c.active ? null : "true",
        }, h("span", null, c.display_name),
          h("span", { class: "option-meta" }, c.currency || "", c.active ? null : h("span", { class: "lozenge" }, "Inactive")));
        option.addEventListener("mousedown", function (e) { e.preventDefault(); });
        option.addEventListener("click", function () { choose(c); });
        option.addEventListener("mousemove", function () { if (active !== index) setActive(index); });
        list.appendChild(option);
      });
      list.hidden = false;
      input.setAttribute("aria-expanded", "true");
      setActive(kept === null ? -1 : items.map(function (c) { return c.id; }).indexOf(kept));
    }

    function search(refreshFirst) {
      var query = input.value.trim();
      var mine = ++sequence;
      return api.get("/api/quickbooks/customers", { q: query, limit: 25, refresh: refreshFirst ? "true" : null }).then(function (page) {
        if (mine !== sequence) return page;
        renderOptions(page.items, query);
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
          ui.showSuccess(status, "Linked to QuickBooks", client.name + " is invoiced as " + saved.display_name + " in QuickBooks. Its finalized invoices can be synced now.");
          ui.flag("success", "Linked to QuickBooks", client.name + " → " + saved.display_name);
          announceChange();
        }).catch(function (error) {
          showQuickBooksError(status, error, "The customer was not linked", { client: client });
          throw error;
        });
      });
    }
    linkButton.addEventListener("click", function () { link().catch(function () {}); });

    refresh.addEventListener("click", function () {
      ui.busy(refresh, "Refreshing customers…", function () {
        return search(true).then(function (page) {
          ui.showSuccess(status, "Customers refreshed", "The customer list was read from QuickBooks again" +
            (page && page.items ? ": " + page.items.length + (page.next_cursor ? "+" : "") + " customer" + (page.items.length === 1 ? "" : "s") + (input.value.trim() ? " match" : "") : "") + ".");
          input.focus();
        }).catch(function () { /* the error is shown */ });
      });
    });

    renderCurrent();
  }

  window.W360.slots = window.W360.slots || {};
  window.W360.slots.quickbooksConnection = quickbooksConnection;
  window.W360.slots.clientQuickBooks = clientQuickBooks;
  /* The client form's Save also links a customer that was chosen but not linked yet. */
  window.W360.slots.clientQuickBooksPending = function () { return pendingLink; };
  window.W360.qbo = { statusLozenge: statusLozenge, connectionLozenge: connectionLozenge, fixFor: fixFor, showError: showQuickBooksError, STATUS: QBO_STATUS };
})();
