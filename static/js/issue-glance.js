/* The issue glance: hours logged on this Jira issue, billed (finalized invoices), unbilled. */
(function () {
  "use strict";
  var api = W360.api, ui = W360.ui, fmt = W360.fmt, h = ui.h;
  var $ = function (id) { return document.getElementById(id); };
  var section = $("glance");
  // Connect puts the issue in the page's URL (rendered into the section); Forge's bridge
  // gives it to the door (W360.page.param).
  var issueId = section.getAttribute("data-issue-id") || W360.page.param("issueId");
  var issueKey = section.getAttribute("data-issue-key") || W360.page.param("issueKey") || "this issue";
  document.getElementById("main").classList.add("glance");

  function render(figures) {
    $("glance-figures").hidden = false;
    $("glance-logged").textContent = fmt.hours(figures.logged_hours);
    $("glance-billed").textContent = fmt.hours(figures.billed_hours);
    $("glance-unbilled").textContent = fmt.hours(figures.unbilled_hours);
    var notes = [];
    if (!figures.worklogs) notes.push("No time logged on " + issueKey + " yet.");
    if (Number(figures.draft_hours) > 0) notes.push(fmt.hours(figures.draft_hours) + " on draft invoices (unbilled until finalized).");
    if (Number(figures.non_billable_hours) > 0) notes.push(fmt.hours(figures.non_billable_hours) + " marked not billable.");
    if (Number(figures.billed_hours) > 0) notes.push("Billed hours are as invoiced, after rounding.");
    $("glance-note").textContent = notes.join(" ");
    var list = ui.clear($("glance-invoices"));
    list.hidden = !figures.invoices.length;
    figures.invoices.forEach(function (invoice) {
      var open = h("button", { type: "button", class: "btn btn-link" }, invoice.number || "Draft #" + invoice.id);
      open.addEventListener("click", function () { W360.page.go(W360.page.modules.invoices, { invoice_id: invoice.id }); });
      list.appendChild(h("li", null, open, " · " + fmt.hours(invoice.hours) + (invoice.status === "draft" ? " (draft)" : "")));
    });
  }

  if (!issueId) {
    ui.message($("glance-status"), "info", null, "Open an issue to see its billing.");
    return;
  }
  ui.loading($("glance-status"), "Loading…");
  api.get("/api/issues/" + encodeURIComponent(issueId) + "/billing").then(function (figures) {
    ui.clear($("glance-status"));
    render(figures);
  }).catch(function (error) { ui.showError($("glance-status"), error, "Billing figures could not be loaded"); });
})();
