/*
 * The Jira sandbox page's side of the AP bridge: answers the app iframe's all.js calls.
 * Messages are accepted only from the app's iframe and its origin.
 */
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("host-config").textContent);
  var frame = document.getElementById("app-frame");
  var appOrigin = new URL(frame.src, window.location.href).origin;
  var flags = document.getElementById("flags");
  var dialogRoot = document.getElementById("dialog-root");
  var openDialogs = [];

  function post(message) {
    frame.contentWindow.postMessage(Object.assign({ w360ap: 1 }, message), appOrigin);
  }

  function hostUrl(moduleKey, customData) {
    var url = config.hostPath.replace("{module}", encodeURIComponent(moduleKey));
    var query = new URLSearchParams({ as: config.accountId });
    Object.keys(customData || {}).forEach(function (name) {
      query.append("ac." + name, String(customData[name]));
    });
    return url + "?" + query.toString();
  }

  function sessionHeaders(extra) {
    return Object.assign({ "X-Host-Session": config.session, "X-Host-App": config.appKey }, extra || {});
  }

  function showFlag(args) {
    var flag = document.createElement("div");
    var type = ["success", "info", "warning", "error"].indexOf(args.type) >= 0 ? args.type : "info";
    flag.className = "flag flag-" + type;
    flag.id = "host-" + args.id;
    flag.setAttribute("role", type === "error" ? "alert" : "status");
    var title = document.createElement("strong");
    title.textContent = args.title || "";
    var body = document.createElement("div");
    body.textContent = args.body || "";
    var close = document.createElement("button");
    close.type = "button";
    close.className = "flag-close";
    close.setAttribute("aria-label", "Dismiss");
    close.textContent = "×";
    close.addEventListener("click", function () { flag.remove(); });
    flag.append(title, body, close);
    flags.prepend(flag);
    if (args.close === "auto") setTimeout(function () { flag.remove(); }, 8000);
  }

  function openDialog(args) {
    return new Promise(function (resolve) {
      var backdrop = document.createElement("div");
      backdrop.className = "dialog-backdrop";
      var box = document.createElement("section");
      box.className = "dialog";
      box.setAttribute("role", "dialog");
      box.setAttribute("aria-modal", "true");
      var heading = document.createElement("h2");
      heading.id = "host-" + args.id + "-title";
      heading.textContent = args.header || "";
      box.setAttribute("aria-labelledby", heading.id);
      box.appendChild(heading);
      if (args.key) {
        var inner = document.createElement("p");
        inner.textContent = "Dialog modules are not emulated: " + args.key;
        box.appendChild(inner);
      } else if (args.body) {
        var text = document.createElement("p");
        text.textContent = args.body;
        box.appendChild(text);
      }
      var buttons = document.createElement("div");
      buttons.className = "dialog-buttons";
      var entry = { id: args.id, finish: null };
      function finish(event, data) {
        backdrop.remove();
        openDialogs = openDialogs.filter(function (d) { return d !== entry; });
        resolve({ event: event, data: data });
        frame.focus();
      }
      entry.finish = finish;
      var submit = document.createElement("button");
      submit.type = "button";
      submit.className = "primary";
      submit.textContent = args.submitText || "OK";
      submit.addEventListener("click", function () { finish("submit"); });
      var cancel = document.createElement("button");
      cancel.type = "button";
      cancel.textContent = args.cancelText || "Cancel";
      cancel.addEventListener("click", function () { finish("close"); });
      buttons.append(submit, cancel);
      box.appendChild(buttons);
      backdrop.appendChild(box);
      backdrop.addEventListener("keydown", function (e) { if (e.key === "Escape") finish("close"); });
      dialogRoot.appendChild(backdrop);
      openDialogs.push(entry);
      submit.focus();
    });
  }

  var handlers = {
    "context.getToken": function () {
      return fetch(config.siteBase + "/_host/token", {
        method: "POST",
        headers: sessionHeaders({ "Content-Type": "application/json" }),
        body: JSON.stringify({ appKey: config.appKey }),
      }).then(function (response) {
        if (!response.ok) throw new Error("Jira could not give a token (" + response.status + "); reload the page.");
        return response.json();
      }).then(function (body) { return body.token; });
    },
    "context.getContext": function () {
      return { jira: {}, license: { active: false }, moduleKey: config.moduleKey };
    },
    "user.getCurrentUser": function () {
      return { atlassianAccountId: config.accountId };
    },
    request: function (args) {
      var url = String(args.url || "");
      if (url.indexOf("/rest/") !== 0) {
        throw new Error("AP.request takes a Jira REST path such as /rest/api/3/myself, not " + url);
      }
      var method = args.type || "GET";
      var headers = sessionHeaders({ Accept: "application/json" });
      if (method !== "GET" && method !== "HEAD") headers["Content-Type"] = args.contentType;
      return fetch(config.siteBase + "/_host" + url, {
        method: method,
        headers: headers,
        body: method === "GET" || method === "HEAD" ? undefined : args.data,
      }).then(function (response) {
        return response.text().then(function (body) {
          return {
            status: response.status,
            statusText: response.statusText,
            body: body,
            contentType: response.headers.get("content-type"),
          };
        });
      });
    },
    resize: function (args) {
      var height = parseInt(args.height, 10);
      if (!isNaN(height)) frame.style.height = Math.max(height, 150) + "px";
    },
    sizeToParent: function () {
      frame.classList.add("size-to-parent");
    },
    "navigator.go": function (args) {
      var context = args.context || {};
      if (args.target === "addonmodule" && context.moduleKey) {
        window.location.href = hostUrl(context.moduleKey, context.customData);
        return;
      }
      throw new Error("Navigating to '" + args.target + "' is not emulated by the sandbox.");
    },
    "navigator.reload": function () {
      window.location.reload();
    },
    "navigator.getLocation": function () {
      return {
        target: "addonmodule",
        context: { addonKey: config.appKey, moduleKey: config.moduleKey },
        href: window.location.href,
      };
    },
    "flag.create": function (args) { showFlag(args); },
    "flag.close": function (args) {
      var flag = document.getElementById("host-" + args.id);
      if (flag) flag.remove();
    },
    "dialog.create": function (args) { return openDialog(args); },
    "dialog.close": function (args) {
      var target = args.id
        ? openDialogs.filter(function (d) { return d.id === args.id; })[0]
        : openDialogs[openDialogs.length - 1];
      if (target) target.finish("close", args.data);
    },
  };

  window.addEventListener("message", function (event) {
    if (event.source !== frame.contentWindow || event.origin !== appOrigin) return;
    var message = event.data;
    if (message && message.w360ap === 1 && message.hello) { post({ ready: true }); return; }
    if (!message || message.w360ap !== 1 || !message.id) return;
    var handler = handlers[message.call];
    Promise.resolve()
      .then(function () {
        if (!handler) throw new Error("AP call '" + message.call + "' is not emulated by the sandbox.");
        return handler(message.args || {});
      })
      .then(
        function (result) { post({ id: message.id, result: result === undefined ? null : result }); },
        function (error) { post({ id: message.id, error: error && error.message ? error.message : String(error) }); }
      );
  });

  // The iframe may have started first and said hello to nobody: tell it the page listens now.
  // (Posted to the app's origin only, so an iframe still on about:blank does not get it; it
  // says hello when its all.js starts, and is answered then.)
  post({ ready: true });

  var switcher = document.getElementById("host-user");
  if (switcher) {
    switcher.addEventListener("change", function () {
      var url = new URL(window.location.href);
      url.searchParams.set("as", switcher.value);
      window.location.href = url.toString();
    });
  }
})();
