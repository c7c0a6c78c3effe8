/* Settings → Integrations: billing settings form, the default rate's changes; the QuickBooks
   connection is a slot. */
(function () {
  "use strict";
  var api = W360.api, ui = W360.ui, fmt = W360.fmt;
  var $ = function (id) { return document.getElementById(id); };
  var form = $("settings-form"), status = $("settings-status");
  var FIELDS = ["invoice_number_prefix", "next_invoice_number", "rounding_mode", "rounding_minutes",
    "default_hourly_rate", "default_due_days", "billing_group", "readers_see_money"];
  var NUMBERS = { next_invoice_number: true, rounding_minutes: true, default_due_days: true };
  var CHECKS = { readers_see_money: true };
  // Refusals that name the setting at fault: marked, and said without a generic next step.
  var REFUSED_FIELD = { invoice_number_taken: "next_invoice_number", invalid_rounding: "rounding_minutes" };
  var saved = null;
  var rateChanges = W360.rateChanges.create($("site-rate-changes"), { id: "site-rate-changes", describedBy: "rate-changes-help" });

  /* The site's default rate has no currency: each client's invoices are in the client's own. */
  function baseText(settings) {
    return settings.default_hourly_rate
      ? "Before the first change, the default hourly rate above applies: " + fmt.money(settings.default_hourly_rate) + " an hour, in each client's own currency."
      : "Before the first change there is no default rate: the default hourly rate above is empty.";
  }

  function fill(settings) {
    saved = settings;
    FIELDS.forEach(function (name) {
      var value = settings[name];
      if (CHECKS[name]) form[name].checked = value !== false;
      else form[name].value = value === null || value === undefined ? "" : value;
      form[name].removeAttribute("aria-invalid");
    });
    preview();
    rateChanges.setBase(baseText(settings));
  }

  function preview() {
    $("s-number-preview").textContent = "The next invoice will be " + form.invoice_number_prefix.value + (form.next_invoice_number.value || "…") + ".";
  }

  function value(name) {
    if (CHECKS[name]) return form[name].checked;
    var raw = form[name].value.trim();
    if (NUMBERS[name]) return raw === "" ? null : Number(raw);
    if (raw === "") return null;
    return raw;
  }

  function changes() {
    var patch = {};
    FIELDS.forEach(function (name) {
      var now = value(name), before = saved[name];
      if (name === "default_hourly_rate" && now !== null && before !== null) {
        if (Number(now) !== Number(before)) patch[name] = now;
      } else if (String(now) !== String(before === undefined ? null : before)) {
        patch[name] = now;
      }
    });
    if (patch.invoice_number_prefix === null) patch.invoice_number_prefix = "";
    return patch;
  }

  form.addEventListener("input", preview);
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    if (!saved) return;
    var patch = changes();
    if (!Object.keys(patch).length) {
      ui.message(status, "info", "Nothing to save", "These are the settings already in use.");
      return;
    }
    ui.busy($("settings-save"), "Saving…", function () {
      return api.patch("/api/settings", patch).then(function (settings) {
        fill(settings);
        var names = Object.keys(patch).length;
        ui.showSuccess(status, "Settings saved", names + " setting" + (names === 1 ? "" : "s") + " changed. New invoices use them from now on.");
      }).catch(function (error) {
        var field = REFUSED_FIELD[error.code];
        if (!field) return ui.showError(status, error, "The settings were not saved");
        ui.message(status, "error", "The settings were not saved", error.message).setAttribute("data-error-code", error.code);
        form[field].setAttribute("aria-invalid", "true");
        form[field].addEventListener("input", function () { form[field].removeAttribute("aria-invalid"); }, { once: true });
        form[field].focus();
      });
    });
  });
  $("settings-reset").addEventListener("click", function () {
    if (saved) fill(saved);
    ui.message(status, "info", "Changes undone", "The form shows the saved settings again.");
  });

  ui.loading(status, "Loading settings…");
  api.get("/api/settings").then(function (settings) {
    ui.clear(status);
    fill(settings);
    return rateChanges.load({
      path: "/api/settings/rate-changes",
      currency: "",
      subject: "the default hourly rate",
      base: baseText(settings),
      empty: "No rate changes: the default hourly rate applies whatever the date, in each client's own currency.",
    });
  }).catch(function (error) { ui.showError(status, error, "Settings could not be loaded"); });

  window.W360.slots = window.W360.slots || {};
  if (typeof window.W360.slots.quickbooksConnection === "function") {
    window.W360.slots.quickbooksConnection(document.querySelector("[data-slot=quickbooks-connection]"));
  }
})();
