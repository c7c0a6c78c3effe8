/*
 * The Jira sandbox's stand-in for what Forge's hosting injects into a Custom UI page: the
 * bridge @forge/bridge calls (`globalThis.__bridge.callBridge(name, payload)`). Injected as the
 * page's first script, so it exists before the app's bundle runs (the bundle looks it up as it
 * loads). Each call is a postMessage to the Jira page framing this one (forge-host.js), which
 * answers it; messages are taken only from that window and its origin.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  var hostOrigin = (script && script.getAttribute("data-host-origin")) || "";
  var framed = !!hostOrigin && window.parent !== window;
  var sequence = 0;
  var pending = {};
  var historyListeners = [];
  // The Jira page may start after this frame (see all.js): calls wait for its "ready".
  var hostReady = false;
  var queued = [];

  function send(message) {
    var tagged = Object.assign({ forgeBridge: 1 }, message);
    if (hostReady) window.parent.postMessage(tagged, hostOrigin);
    else queued.push(tagged);
  }

  function call(name, payload) {
    return new Promise(function (resolve, reject) {
      if (!framed) {
        reject(new Error("This Custom UI runs inside Jira: open it from the app's page in Jira."));
        return;
      }
      var id = "bridge-" + ++sequence;
      pending[id] = { resolve: resolve, reject: reject };
      send({ id: id, name: name, payload: payload === undefined ? null : payload });
    });
  }

  /* view.createHistory(): the host's URL, relative to the module's page; push and replace
     change it, and listeners hear every change (Jira's sidebar too), as `history` does. */
  function createHistory() {
    return call("createHistory").then(function (state) {
      var history = {
        action: state.action || "POP",
        location: state.location,
        push: function (path, s) { send({ name: "history.push", payload: { to: path, state: s } }); },
        replace: function (path, s) { send({ name: "history.replace", payload: { to: path, state: s } }); },
        go: function (n) { send({ name: "history.go", payload: { n: n } }); },
        goBack: function () { send({ name: "history.go", payload: { n: -1 } }); },
        goForward: function () { send({ name: "history.go", payload: { n: 1 } }); },
        listen: function (listener) {
          historyListeners.push(listener);
          return function () {
            historyListeners = historyListeners.filter(function (l) { return l !== listener; });
          };
        },
      };
      historyListeners.push(function (location, action) {
        history.location = location;
        history.action = action;
      });
      return history;
    });
  }

  window.addEventListener("message", function (event) {
    if (!framed || event.source !== window.parent || event.origin !== hostOrigin) return;
    var message = event.data;
    if (!message || message.forgeBridge !== 1) return;
    if (message.ready) {
      if (hostReady) return;
      hostReady = true;
      queued.splice(0).forEach(function (m) { window.parent.postMessage(m, hostOrigin); });
      return;
    }
    if (message.event === "history") {
      historyListeners.slice().forEach(function (listener) { listener(message.location, message.action); });
      return;
    }
    var waiting = message.id && pending[message.id];
    if (!waiting) return;
    delete pending[message.id];
    if (message.error !== undefined) waiting.reject(new Error(message.error));
    else waiting.resolve(message.result);
  });

  // The frame fits its content, as Jira sizes Custom UI iframes.
  function reportHeight() {
    var height = Math.ceil(document.documentElement.getBoundingClientRect().height);
    if (hostReady) window.parent.postMessage({ forgeBridge: 1, resize: height }, hostOrigin);
  }
  if (framed && window.ResizeObserver) {
    document.addEventListener("DOMContentLoaded", function () {
      new ResizeObserver(reportHeight).observe(document.documentElement);
    });
  }

  globalThis.__bridge = {
    callBridge: function (name, payload) {
      if (name === "createHistory") return createHistory();
      return call(name, payload);
    },
  };

  if (framed) {
    window.parent.postMessage({ forgeBridge: 1, hello: true }, hostOrigin);
    window.addEventListener("message", function once(event) {
      if (event.source === window.parent && event.data && event.data.forgeBridge === 1 && event.data.ready) {
        window.removeEventListener("message", once);
        reportHeight();
      }
    });
  }
})();
