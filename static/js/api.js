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

  function ApiError(status, code, message) {
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.message = message;
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

  function request(method, path, body, query) {
    return contextToken().then(function (token) {
      var headers = { Authorization: "JWT " + token, Accept: "application/json" };
      if (body !== undefined) headers["Content-Type"] = "application/json";
      return fetch(apiBase + withQuery(path, query), {
        method: method,
        headers: headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        credentials: "omit",
        cache: "no-store",
      }).catch(function () {
        throw new ApiError(0, "network_error", "Worklog360 could not be reached.");
      });
    }).then(function (response) {
      if (response.status === 204) return null;
      return response.text().then(function (text) {
        var data = null;
        try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
        if (!response.ok) {
          var error = data && data.error ? data.error : {};
          throw new ApiError(response.status, error.code || "http_" + response.status,
            error.message || "Worklog360 answered with HTTP " + response.status + ".");
        }
        return data;
      });
    });
  }

  /* What a person can do about an error, by its kind. */
  function nextStep(error) {
    var code = error && error.code;
    if (code === "not_in_jira") return "";
    if (code === "network_error") return "Check your connection, then try again.";
    if (!error || !error.status) return "Reload the page and try again.";
    if (error.status === 401) return "Reload the page so Jira signs you in again.";
    if (error.status === 403) {
      return "Ask a Jira administrator to do this, or to add you to the billing group set in Worklog360's settings.";
    }
    if (error.status === 404) return "It may have been deleted; reload the page to see the current list.";
    if (error.status === 409) return "Reload to see the current state, then try again.";
    if (error.status === 422) return "Correct the value and try again.";
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
    if (!options || options.markFields !== false) markInvalidFields(error);
    return box;
  }

  function showSuccess(container, title, text) {
    return message(container, "success", title, text);
  }

  /* Mark inputs named in a validation message ("… hourly_rate: …") as invalid. */
  function markInvalidFields(error) {
    if (!error || error.status !== 422 || !error.message) return;
    document.querySelectorAll("[name]").forEach(function (input) {
      var name = input.getAttribute("name");
      if (name && new RegExp("(^|[\\s:;.])" + name + ":").test(error.message)) {
        input.setAttribute("aria-invalid", "true");
        input.addEventListener("input", function () { input.removeAttribute("aria-invalid"); }, { once: true });
      }
    });
  }

  /* Also tell Jira (a flag in Jira's own corner), when the page runs inside Jira. */
  function flag(type, title, body) {
    if (window.AP && window.AP.flag) {
      try { window.AP.flag.create({ title: title, body: body || "", type: type, close: "auto" }); } catch (e) { /* the in-page message says it too */ }
    }
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

  function money(amount, currency) {
    if (amount === null || amount === undefined || amount === "") return "—";
    var value = Number(amount);
    if (!currency) return value.toLocaleString(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
    try {
      return value.toLocaleString(undefined, { style: "currency", currency: currency });
    } catch (e) {
      return currency + " " + value.toFixed(2);
    }
  }

  function hours(value) {
    if (value === null || value === undefined || value === "") return "—";
    return Number(value).toLocaleString(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 }) + " h";
  }

  function day(iso) {
    if (!iso) return "—";
    var d = new Date(String(iso).length === 10 ? iso + "T00:00:00" : iso);
    return d.toLocaleDateString(undefined, { year: "numeric", month: "short", day: "numeric" });
  }

  function isoDay(d) {
    var pad = function (n) { return String(n).padStart(2, "0"); };
    return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate());
  }

  /* The page's own query (module parameters Jira passed on, e.g. budget_id). */
  function pageParam(name) {
    return new URLSearchParams(window.location.search).get(name);
  }

  function goToPage(moduleKey, customData) {
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

  document.addEventListener("DOMContentLoaded", function () {
    if (!document.querySelector("[data-reader-note]")) return;
    me().then(function (who) {
      if (who && who.can_edit_billing === false) showReaderMode();
    }, function () { /* keep the controls: saving still says why it was refused */ });
  });

  window.W360 = {
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
      flag: flag, busy: busy, loading: loading, nextStep: nextStep,
    },
    fmt: { money: money, hours: hours, day: day, isoDay: isoDay },
    page: { param: pageParam, go: goToPage, modules: JSON.parse(root.getAttribute("data-modules") || "{}") },
  };
})();
