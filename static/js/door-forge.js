/*
 * The pages' Forge door: what AP.js gives them inside Jira's Connect iframes, given by Forge's
 * Custom UI bridge (window.ForgeBridge, the esbuild bundle of @forge/bridge) instead. Loaded
 * only in the Forge bundle (`worklog360 forge-app`), before api.js.
 *
 * - W360_DOOR.request: API calls go through invokeRemote, which Forge delivers to this app's
 *   remote with a Forge Invocation Token (and the person's and the app's Jira tokens); no
 *   context token is asked for. Its answer is the same {status, body} api.js reads.
 * - The four pages are subpages (routes) of one global page: one index.html holds each page
 *   as a <template>, mounted for the route Jira shows; a route change loads the page anew.
 * - window.AP is a small stand-in over the bridge for what the pages call directly
 *   (navigation, Jira REST as the person), so the pages' own code is the same at both doors.
 */
(function () {
  "use strict";
  var bridge = window.ForgeBridge;
  var root = document.documentElement;
  var modules = JSON.parse(root.getAttribute("data-modules") || "{}");
  var globalPage = root.getAttribute("data-global-page");
  var routeParams = new URLSearchParams("");
  var ready = null;

  // The global page's subpages (its routes), known to every resource: any page may send
  // people to one. Only the global page's own resource holds them and follows the route.
  var routes = (root.getAttribute("data-routes") || "").split(" ").filter(Boolean);
  var followsRoute = root.getAttribute("data-history") === "true";

  function routeOf(moduleKey) {
    return routes.filter(function (name) { return modules[name] === moduleKey; })[0] || null;
  }

  function routeName(location) {
    return String((location && location.pathname) || "").replace(/^\/+|\/+$/g, "");
  }

  /* --- API calls ------------------------------------------------------------------------ */

  function request(method, path, body) {
    var input = { path: path, method: method, headers: { Accept: "application/json" } };
    if (body !== undefined) input.body = body;
    return bridge.invokeRemote(input).then(function (response) {
      var headers = response.headers || {};
      var money = headers["x-w360-money"] || headers["X-W360-Money"];
      return {
        status: response.status,
        data: response.body === undefined ? null : response.body,
        moneyHidden: String(money || "").indexOf("hidden") >= 0,
      };
    }, function (error) {
      // Forge rejects for transport problems and for a 401 (its token check failed).
      var message = String((error && error.message) || error);
      if (/verify the Forge Invocation Token/.test(message)) {
        return { status: 401, data: { error: { code: "unauthorized", message: "Jira could not sign you in to Worklog360." } } };
      }
      return { status: 0, failure: "Worklog360 could not be reached (" + message + ")." };
    });
  }

  /* --- navigation between the pages -------------------------------------------------- */

  function query(customData) {
    var params = new URLSearchParams();
    Object.keys(customData || {}).forEach(function (name) {
      var value = customData[name];
      if (value !== undefined && value !== null && value !== "") params.append(name, String(value));
    });
    var text = params.toString();
    return text ? "?" + text : "";
  }

  function go(moduleKey, customData) {
    var route = routeOf(moduleKey);
    if (route) {
      return bridge.router.navigate({ target: "module", moduleKey: globalPage, path: "/" + route + query(customData) });
    }
    return bridge.router.navigate({ target: "module", moduleKey: moduleKey });
  }

  /* --- the AP stand-in ----------------------------------------------------------------- */

  window.AP = {
    navigator: {
      go: function (target, context) {
        if (target !== "addonmodule") return Promise.reject(new Error("Only the app's own pages are reachable."));
        return go((context || {}).moduleKey, (context || {}).customData);
      },
      reload: function () { return bridge.router.reload(); },
    },
    // Jira REST as the person (AP.request's shape: {body} resolved, {err, xhr} thrown).
    request: function (options) {
      var o = typeof options === "string" ? { url: options } : options || {};
      var method = String(o.type || o.method || "GET").toUpperCase();
      var init = { method: method, headers: { Accept: "application/json" } };
      if (o.data !== undefined && o.data !== null) {
        init.body = typeof o.data === "string" ? o.data : JSON.stringify(o.data);
        init.headers["Content-Type"] = o.contentType || "application/json";
      }
      return bridge.requestJira(o.url, init).then(function (response) {
        return response.text().then(function (text) {
          var xhr = { status: response.status, responseText: text };
          if (response.ok) return { body: text, xhr: xhr };
          throw { err: text, xhr: xhr };
        });
      });
    },
  };

  /* --- mounting the page of the route ------------------------------------------------- */

  function mount(name) {
    var template = document.querySelector("template[data-page='" + name + "']") ||
      document.querySelector("template[data-page]");
    var main = document.getElementById("main");
    main.setAttribute("data-page", template.getAttribute("data-page"));
    document.title = template.getAttribute("data-title") + " · Worklog360";
    var content = template.content.cloneNode(true);
    var scripts = Array.prototype.slice.call(content.querySelectorAll("script[src]"));
    scripts.forEach(function (script) { script.remove(); });
    while (main.firstChild) main.removeChild(main.firstChild);
    main.appendChild(content);
    if (window.W360 && window.W360.startPage) window.W360.startPage();
    // In order, one after another, as they would run in the page itself.
    return scripts.reduce(function (previous, script) {
      return previous.then(function () {
        return new Promise(function (resolve, reject) {
          var element = document.createElement("script");
          element.src = script.getAttribute("src");
          element.async = false;
          element.onload = resolve;
          element.onerror = function () { reject(new Error("Could not load " + element.src)); };
          document.body.appendChild(element);
        });
      });
    }, Promise.resolve());
  }

  function start() {
    var history = followsRoute ? bridge.view.createHistory() : null;
    return Promise.all([bridge.view.getContext(), history]).then(function (answers) {
      var context = answers[0] || {}, history = answers[1];
      var page = null;
      if (history) {
        var asked = routeName(history.location);
        page = routes.indexOf(asked) >= 0 ? asked : routes[0];
        routeParams = new URLSearchParams(history.location.search || "");
        var shown = asked + (history.location.search || "");
        // Jira's sidebar moves between the subpages: show the one it asks for, anew.
        history.listen(function (location) {
          if (routeName(location) + (location.search || "") !== shown) window.location.reload();
        });
      }
      var issue = (context.extension || {}).issue;
      if (issue) routeParams = new URLSearchParams({ issueId: String(issue.id || ""), issueKey: String(issue.key || "") });
      return mount(page);
    }).catch(function (error) {
      var main = document.getElementById("main");
      main.textContent = "";
      var box = document.createElement("div");
      box.className = "message message-error";
      box.setAttribute("role", "alert");
      box.textContent = "Worklog360 could not start inside Jira (" + ((error && error.message) || error) + "). Reload the page; if it keeps failing, contact your Jira administrator.";
      main.appendChild(box);
    });
  }

  window.W360_DOOR = {
    name: "forge",
    request: request,
    go: go,
    param: function (name) { return routeParams.get(name); },
    open: function (url) { return bridge.router.open(url); },
    ready: function () { return ready; },
  };

  document.addEventListener("DOMContentLoaded", function () { ready = start(); });
})();
