/*
 * Worklog360 pages' shared script: the JSON API client and small UI helpers.
 *
 * Every API call asks Jira for a fresh context token (AP.context.getToken()) and sends it as
 * `Authorization: JWT <token>`: tokens are short-lived and Jira's iframes block third-party
 * cookies, so there is no session and no cookie. Errors come back as
 * {"error": {"code", "message"}}; they are raised as W360.ApiError and shown as they are,
 * with what to do next.
 */
(function () {
  "use strict";
  var root = document.documentElement;
  var apiBase = (root.getAttribute("data-api-base") || "").replace(/\/$/, "");

  function ApiError(status, code, message, fields) {
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.message = message;
    /* For a 422: the request fields at fault (`hours`, `0.hourly_rate`), to mark their inputs. */
    this.fields = fields || [];
  }
  ApiError.prototype = Object.create(Error.prototype);
  ApiError.prototype.constructor = ApiError;

  function contextToken() {
    if (!window.AP || !window.AP.context) {
      return Promise.reject(new ApiError(0, "not_in_jira",
        "This page works inside Jira. Open it from Jira's Apps menu (Worklog360)."));
    }
    return Promise.resolve(window.AP.context.getToken()).catch(function (e) {
      throw new ApiError(0, "no_token", "Jira did not give this page a sign-in token (" +
        (e && e.message ? e.message : e) + ").");
    });
  }

  function withQuery(path, query) {
    var params = new URLSearchParams();
    Object.keys(query || {}).forEach(function (name) {
      var value = query[name];
      if (value === undefined || value === null || value === "" || value === false) return;
      params.append(name, String(value));
    });
    var text = params.toString();
    return text ? path + (path.indexOf("?") >= 0 ? "&" : "?") + text : path;
  }

  /* The API's two transports, one interface: `request(method, url, body)` answers
     {status, data, moneyHidden} (the parsed JSON or null; whether the answer hid money from
     this person, X-W360-Money) or {status: 0, failure} when nothing came back.
     Connect: fetch with Jira's context token. Forge: door-forge.js, through the bridge. */
  var connectDoor = {
    name: "connect",
    request: function (method, url, body) {
      return contextToken().then(function (token) {
        var headers = { Authorization: "JWT " + token, Accept: "application/json" };
        if (body !== undefined) headers["Content-Type"] = "application/json";
        return fetch(apiBase + url, {
          method: method,
          headers: headers,
          body: body === undefined ? undefined : JSON.stringify(body),
          credentials: "omit",
          cache: "no-store",
        }).then(function (response) {
          var hidden = response.headers.get("X-W360-Money") === "hidden";
          if (response.status === 204) return { status: 204, data: null, moneyHidden: hidden };
          return response.text().then(function (text) {
            var data = null;
            try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
            return { status: response.status, data: data, moneyHidden: hidden };
          });
        }, function () {
          return { status: 0, failure: "Worklog360 could not be reached." };
        });
      });
    },
  };
  var door = window.W360_DOOR || connectDoor;

  function request(method, path, body, query) {
    return door.request(method, withQuery(path, query), body).then(function (answer) {
      // The site hides rates and amounts from this person: they come back null (see fmt.money).
      if (answer.moneyHidden) moneyHidden = true;
      if (!answer.status) throw new ApiError(0, "network_error", answer.failure || "Worklog360 could not be reached.");
      if (answer.status >= 200 && answer.status < 300) return answer.data;
      var error = answer.data && answer.data.error ? answer.data.error : {};
      throw new ApiError(answer.status, error.code || "http_" + answer.status,
        error.message || "Worklog360 answered with HTTP " + answer.status + ".", error.fields);
    });
  }

  /* What a person can do about an error, by its kind: only where the answer itself does not
     say it. Worklog360's 409 and 422 messages name the fix already ("… regroup it by issue or
     person", "Hours: enter 0 or more"); repeating "Reload, then try again" under them would
     send people to a reload that cannot help. */
  function nextStep(error) {
    var code = error && error.code;
    if (code === "not_in_jira") return "";
    if (code === "network_error") return "Check your connection, then try again.";
    if (code === "no_token") return "Reload the page so Jira signs you in again.";
    if (!error || !error.status) return "Try again; if it keeps failing, reload the page.";
    if (error.status === 401) return "Reload the page so Jira signs you in again.";
    if (error.status === 403) {
      return "Ask a Jira administrator to do this, or to add you to the billing group set in Worklog360's settings.";
    }
    if (error.status === 404) return "It may have been deleted meanwhile: reload the page to see what is there now.";
    if (error.status === 409 || error.status === 422) return "";
    if (error.status === 413) return "Send less at once.";
    if (error.status === 429) return "Wait a moment, then try again.";
    if (error.status >= 500) return "Try again in a minute. If it keeps failing, contact your Jira administrator.";
    return "Try again.";
  }

  /* --- DOM helpers ------------------------------------------------------------------------ */

  function h(tag, attrs) {
    var element = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      var value = attrs[name];
      if (value === null || value === undefined || value === false) return;
      if (name === "text") element.textContent = value;
      else if (name === "class") element.className = value;
      // Styles go through CSSOM ({width: "40%"}): a style attribute is inline style, which
      // Forge's Custom UI CSP blocks.
      else if (name === "style") Object.keys(value).forEach(function (property) { element.style[property] = value[property]; });
      else if (name.indexOf("on") === 0 && typeof value === "function") element.addEventListener(name.slice(2), value);
      else if (value === true) element.setAttribute(name, "");
      else element.setAttribute(name, String(value));
    });
    for (var i = 2; i < arguments.length; i++) append(element, arguments[i]);
    return element;
  }

  function append(parent, child) {
    if (child === null || child === undefined || child === false) return;
    if (Array.isArray(child)) { child.forEach(function (c) { append(parent, c); }); return; }
    parent.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
  }

  function clear(element) {
    while (element.firstChild) element.removeChild(element.firstChild);
    return element;
  }

  /* A section message in `container` (which should be an aria-live region). */
  function message(container, kind, title, text, extra) {
    clear(container);
    var box = h("div", { class: "message message-" + kind, role: kind === "error" ? "alert" : "status" },
      h("div", { class: "body" },
        title ? h("div", { class: "title", text: title }) : null,
        text ? h("p", { text: text }) : null,
        extra || null),
      h("button", {
        type: "button", class: "btn btn-subtle btn-compact dismiss", "aria-label": "Dismiss message",
        onclick: function () { clear(container); },
      }, "×"));
    container.appendChild(box);
    return box;
  }

  /* `options.markFields: false` when the caller marks the fields a 422 names itself (an
     editor of many rows, where "0.hourly_rate" means one input, not every one so named). */
  function showError(container, error, title, options) {
    var step = nextStep(error);
    var text = (error && error.message) || String(error);
    var extra = step ? h("p", { class: "next-step", text: step }) : null;
    var box = message(container, "error", title || "That didn't work", text, extra);
    if (error && error.code) box.setAttribute("data-error-code", error.code);
    if (!options || options.markFields !== false) markInvalidFields(error, options && options.scope);
    return box;
  }

  function showSuccess(container, title, text) {
    return message(container, "success", title, text);
  }

  /* Mark the inputs a 422 names in `fields` as invalid: those named exactly so, within
     `scope` (the form that sent the request; the whole page by default). A field of a list
     row ("0.hourly_rate") is the row editor's to mark: it knows which input is row 0. */
  function markInvalidFields(error, scope) {
    if (!error || error.status !== 422 || !error.fields || !error.fields.length) return;
    var within = scope || document;
    error.fields.forEach(function (field) {
      within.querySelectorAll("[name]").forEach(function (input) {
        if (input.getAttribute("name") !== field) return;
        input.setAttribute("aria-invalid", "true");
        input.addEventListener("input", function () { input.removeAttribute("aria-invalid"); }, { once: true });
      });
    });
  }

  /* Run `work` with `button` showing it is busy; the button is back whatever happens. */
  function busy(button, label, work) {
    var before = button.textContent;
    button.setAttribute("aria-busy", "true");
    button.disabled = true;
    if (label) button.textContent = label;
    return Promise.resolve().then(work).finally(function () {
      button.removeAttribute("aria-busy");
      button.disabled = false;
      button.textContent = before;
    });
  }

  function loading(container, text) {
    clear(container);
    container.appendChild(h("div", { class: "loading", role: "status" }, h("span", { class: "spinner", "aria-hidden": "true" }), text || "Loading…"));
  }

  /* --- formatting ------------------------------------------------------------------------- */

  /* Set by the first answer that says money is hidden from this person: every figure of
     money then reads "Hidden" rather than a dash (it is there, but not for them). */
  var moneyHidden = false;

  function money(amount, currency) {
    if (amount === null || amount === undefined || amount === "") return moneyHidden ? "Hidden" : "—";
    var value = Number(amount);
    if (!currency) return value.toLocaleString(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
    try {
      return value.toLocaleString(undefined, { style: "currency", currency: currency });
    } catch (e) {
      return currency + " " + value.toFixed(2);
    }
  }

  /* Money figures to whole cents, for sums and differences on the page: the API's own
     figures are exact decimals; floats would drift (0.1 + 0.2). */
  function cents(value) {
    return Math.round(Number(value) * 100);
  }

  /* round_half_up(hours × rate, 2), as the server prices a line, in whole numbers (both
     non-negative, at most 2 decimals): e.g. 7.05 h × 123.10 = 867.855 → 867.86. */
  function lineAmount(hoursValue, rate) {
    return Math.floor((cents(hoursValue) * cents(rate) + 50) / 100) / 100;
  }

  function hours(value) {
    if (value === null || value === undefined || value === "") return "—";
    return Number(value).toLocaleString(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 }) + " h";
  }

  /* One way to write a day on every page and in the API's messages: "2 Dec 2026" (day,
     month, year: read the same way in every country; app/timeutil.human_day matches it).
     Built once: a formatter per call cost more than the rest of a row's rendering. */
  var DAY = new Intl.DateTimeFormat("en-GB", { day: "numeric", month: "short", year: "numeric" });
  var TIME = new Intl.DateTimeFormat("en-GB", { hour: "2-digit", minute: "2-digit" });

  function day(iso) {
    if (!iso) return "—";
    var d = new Date(String(iso).length === 10 ? iso + "T00:00:00" : iso);
    return isNaN(d.getTime()) ? String(iso) : DAY.format(d);
  }

  function dayAndTime(iso) {
    if (!iso) return "—";
    var d = new Date(iso);
    return isNaN(d.getTime()) ? String(iso) : DAY.format(d) + ", " + TIME.format(d);
  }

  function isoDay(d) {
    var pad = function (n) { return String(n).padStart(2, "0"); };
    return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate());
  }

  /* The page's own query (module parameters Jira passed on, e.g. budget_id). */
  function pageParam(name) {
    if (door.param) return door.param(name);
    return new URLSearchParams(window.location.search).get(name);
  }

  /* A page outside Jira (QuickBooks), in a new tab: through the door (Forge's router, which
     asks the person first; its iframe may not open windows), else the browser's own. */
  function openOutside(url) {
    if (door.open) return Promise.resolve(door.open(url));
    window.open(url, "_blank", "noopener");
    return Promise.resolve();
  }

  function goToPage(moduleKey, customData) {
    if (door.go) return door.go(moduleKey, customData || {});
    if (window.AP && window.AP.navigator) {
      return window.AP.navigator.go("addonmodule", { moduleKey: moduleKey, customData: customData || {} });
    }
    return Promise.resolve();
  }

  /* --- who is looking: billing editor or reader ------------------------------------------- */

  /* GET /api/me, asked once a page. Readers get `w360-reader` on <html>: CSS hides the
     `.edit-only` controls and disabled `fieldset.edit-fields` keep values readable but
     unchangeable. If the question fails, everything stays as it was (the API still refuses). */
  var READER_NOTE = "You can view billing data; changing it needs a billing editor (ask a Jira administrator).";
  var meAnswer = null;

  function me() {
    if (!meAnswer) meAnswer = request("GET", "/api/me");
    return meAnswer;
  }

  function lockEditFields(scope) {
    if (scope.matches && scope.matches("fieldset.edit-fields")) scope.disabled = true;
    if (scope.querySelectorAll) scope.querySelectorAll("fieldset.edit-fields").forEach(function (f) { f.disabled = true; });
  }

  function showReaderMode() {
    root.classList.add("w360-reader");
    document.querySelectorAll("[data-reader-note]").forEach(function (note) {
      note.textContent = READER_NOTE;
      note.hidden = false;
    });
    lockEditFields(document);
    new MutationObserver(function (changes) {
      changes.forEach(function (change) { change.addedNodes.forEach(lockEditFields); });
    }).observe(document.body, { childList: true, subtree: true });
  }

  /* Once the page's markup is there: at DOMContentLoaded in Connect's iframe, when the Forge
     door has mounted the route's page. */
  function startPage() {
    if (!document.querySelector("[data-reader-note]")) return;
    me().then(function (who) {
      if (who && who.can_edit_billing === false) showReaderMode();
    }, function () { /* keep the controls: saving still says why it was refused */ });
  }

  if (door === connectDoor) document.addEventListener("DOMContentLoaded", startPage);

  window.W360 = {
    door: door.name,
    startPage: startPage,
    me: me,
    ApiError: ApiError,
    api: {
      get: function (path, query) { return request("GET", path, undefined, query); },
      post: function (path, body) { return request("POST", path, body === undefined ? {} : body); },
      patch: function (path, body) { return request("PATCH", path, body); },
      put: function (path, body) { return request("PUT", path, body); },
      del: function (path) { return request("DELETE", path); },
    },
    ui: {
      h: h, clear: clear, message: message, showError: showError, showSuccess: showSuccess,
      busy: busy, loading: loading, nextStep: nextStep,
    },
    fmt: { money: money, moneyHidden: function () { return moneyHidden; }, cents: cents, lineAmount: lineAmount, hours: hours, day: day, dayAndTime: dayAndTime, isoDay: isoDay },
    page: { param: pageParam, go: goToPage, open: openOutside, modules: JSON.parse(root.getAttribute("data-modules") || "{}") },
  };
})();
