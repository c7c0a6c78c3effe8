/*
 * The Jira sandbox's stand-in for Atlassian Connect's all.js (served at
 * /atlassian-connect/all.js). The app's iframe loads it; every AP call is a postMessage to
 * the Jira page around the iframe (host.js), which answers it. Only the part of the AP API
 * Worklog360 uses is here: context tokens, AP.request, navigation, resize, flags, dialogs.
 */
(function () {
  "use strict";
  var params = new URLSearchParams(window.location.search);
  var hostOrigin = null;
  try {
    hostOrigin = new URL(params.get("xdm_e") || "").origin;
  } catch (e) {
    hostOrigin = null; // opened outside Jira: every AP call rejects and says so
  }
  var framed = hostOrigin !== null && window.parent !== window;
  var script = document.currentScript;
  var options = {};
  ((script && script.getAttribute("data-options")) || "").split(";").forEach(function (pair) {
    var at = pair.indexOf(":");
    if (at > 0) options[pair.slice(0, at).trim()] = pair.slice(at + 1).trim();
  });

  var sequence = 0;
  var pending = {};
  var eventHandlers = {};
  // Like Atlassian's bridge, calls wait for a handshake with the Jira page: the page's
  // script may start after this one (the iframe is above it in the page, and a cached
  // iframe runs first), and a message posted before it listens would be lost for good.
  // Each side says so when it starts ("hello" here, "ready" there); whichever starts
  // second is heard, so one of the two messages always lands.
  var hostReady = false;
  var queued = [];

  function send(message) {
    if (hostReady) window.parent.postMessage(message, hostOrigin);
    else queued.push(message);
  }

  function call(name, args) {
    return new Promise(function (resolve, reject) {
      if (!framed) {
        reject(new Error("This page runs inside Jira: open it from Jira's Apps menu."));
        return;
      }
      var id = "ap-" + ++sequence;
      pending[id] = { resolve: resolve, reject: reject };
      send({ w360ap: 1, id: id, call: name, args: args || {} });
    });
  }

  window.addEventListener("message", function (event) {
    if (!framed || event.source !== window.parent || event.origin !== hostOrigin) return;
    var message = event.data;
    if (!message || message.w360ap !== 1) return;
    if (message.ready) {
      if (hostReady) return;
      hostReady = true;
      queued.splice(0).forEach(function (m) { window.parent.postMessage(m, hostOrigin); });
      return;
    }
    if (message.event) {
      (eventHandlers[message.event] || []).forEach(function (handler) { handler(message.data); });
      return;
    }
    var waiting = pending[message.id];
    if (!waiting) return;
    if (!message.more) delete pending[message.id];
    if (message.error) waiting.reject(new Error(message.error));
    else waiting.resolve(message.result);
  });

  function withCallback(promise, callback) {
    if (typeof callback === "function") promise.then(callback);
    return promise;
  }

  function fakeXhr(response) {
    var headers = { "content-type": response.contentType || "" };
    return {
      status: response.status,
      statusText: response.statusText || "",
      responseText: response.body,
      getResponseHeader: function (name) { return headers[String(name).toLowerCase()] || null; },
    };
  }

  function request(urlOrOptions, more) {
    var o = typeof urlOrOptions === "string"
      ? Object.assign({ url: urlOrOptions }, more || {})
      : Object.assign({}, urlOrOptions || {});
    var data = o.data;
    if (data !== undefined && data !== null && typeof data !== "string") data = JSON.stringify(data);
    var asked = {
      url: o.url,
      type: String(o.type || o.method || "GET").toUpperCase(),
      data: data,
      contentType: o.contentType || "application/json",
      headers: o.headers || {},
    };
    return call("request", asked).then(
      function (response) {
        var xhr = fakeXhr(response);
        if (response.status >= 200 && response.status < 300) {
          if (typeof o.success === "function") o.success(response.body, "success", xhr);
          return { body: response.body, xhr: xhr };
        }
        if (typeof o.error === "function") o.error(xhr, "error", response.body);
        throw { err: response.body, xhr: xhr };
      },
      function (failure) {
        var xhr = fakeXhr({ status: 0, body: "" });
        var message = failure && failure.message ? failure.message : String(failure);
        if (typeof o.error === "function") o.error(xhr, "error", message);
        throw { err: message, xhr: xhr };
      }
    );
  }

  var dialogs = {};
  window.AP = {
    context: {
      getToken: function (callback) { return withCallback(call("context.getToken"), callback); },
      getContext: function (callback) { return withCallback(call("context.getContext"), callback); },
    },
    user: {
      getCurrentUser: function (callback) {
        return withCallback(call("user.getCurrentUser"), callback);
      },
    },
    request: request,
    resize: function (width, height) { return call("resize", { width: width, height: height }); },
    sizeToParent: function () { return call("sizeToParent"); },
    navigator: {
      go: function (target, context) { return call("navigator.go", { target: target, context: context || {} }); },
      reload: function () { return call("navigator.reload"); },
      getLocation: function (callback) { return withCallback(call("navigator.getLocation"), callback); },
    },
    flag: {
      create: function (flag) {
        var id = "flag-" + ++sequence;
        call("flag.create", Object.assign({}, flag, { id: id }));
        return { _id: id, close: function () { return call("flag.close", { id: id }); } };
      },
    },
    dialog: {
      create: function (o) {
        var id = "dialog-" + ++sequence;
        var handlers = {};
        var dialog = {
          on: function (name, handler) { (handlers[name] = handlers[name] || []).push(handler); return dialog; },
          close: function (data) { return call("dialog.close", { id: id, data: data }); },
        };
        dialogs[id] = dialog;
        call("dialog.create", Object.assign({}, o, { id: id })).then(function (outcome) {
          delete dialogs[id];
          (handlers[outcome.event] || []).forEach(function (h) { h(outcome.data); });
          if (outcome.event !== "close") (handlers.close || []).forEach(function (h) { h(outcome.data); });
        });
        return dialog;
      },
      close: function (data) { return call("dialog.close", { data: data }); },
    },
    events: {
      on: function (name, handler) { (eventHandlers[name] = eventHandlers[name] || []).push(handler); },
    },
  };

  if (framed) window.parent.postMessage({ w360ap: 1, hello: true }, hostOrigin);

  // General pages grow with their content, as with Atlassian's all.js, unless the page
  // asked to fill the Jira page instead (data-options="sizeToParent:true").
  if (framed) {
    if (options.sizeToParent === "true") {
      window.AP.sizeToParent();
    } else {
      var last = 0;
      var report = function () {
        if (!document.body) return;
        var height = Math.ceil(document.body.getBoundingClientRect().height);
        if (height !== last) {
          last = height;
          call("resize", { width: "100%", height: height });
        }
      };
      var start = function () {
        report();
        if (window.ResizeObserver) new ResizeObserver(report).observe(document.body);
      };
      if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
      else start();
    }
  }
})();
