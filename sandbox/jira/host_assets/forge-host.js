/*
 * The Jira sandbox page's side of Forge's Custom UI bridge: answers the bridge calls of the
 * app's iframes (forge-bridge-runtime.js in them). Messages are taken only from one of this
 * page's Custom UI iframes and from Forge's CDN origin.
 */
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("forge-config").textContent);
  var flags = document.getElementById("flags");
  var dialogRoot = document.getElementById("dialog-root");
  var frames = Array.prototype.slice.call(document.querySelectorAll("iframe.forge-frame"));
  var historyFrames = [];

  function frameOf(source) {
    return frames.filter(function (f) { return f.contentWindow === source; })[0] || null;
  }

  function post(frame, message) {
    if (frame.contentWindow) frame.contentWindow.postMessage(Object.assign({ forgeBridge: 1 }, message), config.cdnOrigin);
  }

  function sessionHeaders() {
    return { "Content-Type": "application/json", "X-Host-Session": config.session };
  }

  function withSignedIn(url) {
    var target = new URL(url, window.location.href);
    target.searchParams.set("as", config.accountId);
    return target.pathname + target.search + target.hash;
  }

  /* --- history: the module's route and query in Jira's own URL ---------------------------- */

  function locationFor(frameConfig) {
    var base = frameConfig.historyBase || "";
    var path = window.location.pathname;
    var pathname = path.indexOf(base) === 0 ? path.slice(base.length) : path;
    var query = new URLSearchParams(window.location.search);
    query.delete("as"); // the sandbox's "Signed in as", not the app's
    var search = query.toString();
    return {
      pathname: pathname || "/",
      search: search ? "?" + search : "",
      hash: window.location.hash,
      state: window.history.state,
      key: String(Date.now()),
    };
  }

  function hostUrlFor(frameConfig, to) {
    var target = typeof to === "string" ? to : (to.pathname || "/") + (to.search || "") + (to.hash || "");
    var parsed = new URL(target, "http://route.invalid/");
    var path = (frameConfig.historyBase || "") + (parsed.pathname === "/" ? "" : parsed.pathname);
    var query = new URLSearchParams(parsed.search);
    query.set("as", config.accountId);
    return path + "?" + query.toString() + parsed.hash;
  }

  function tellHistory(action) {
    historyFrames.forEach(function (frame) {
      post(frame, { event: "history", action: action, location: locationFor(config.frames[frame.id]) });
    });
    markNav();
  }

  function markNav() {
    var here = new URL(window.location.href);
    document.querySelectorAll(".sidebar a[data-module]").forEach(function (link) {
      var target = new URL(link.href);
      var on = link.getAttribute("data-module") === config.current && target.pathname === here.pathname;
      if (on) link.setAttribute("aria-current", "page");
      else link.removeAttribute("aria-current");
    });
  }

  window.addEventListener("popstate", function () { tellHistory("POP"); });

  // Jira's sidebar moves between a page's subpages without loading the page again: the URL
  // changes and the app hears it through its history.
  document.querySelectorAll(".sidebar a[data-module]").forEach(function (link) {
    link.addEventListener("click", function (event) {
      if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
      if (link.getAttribute("data-module") !== config.current || !historyFrames.length) return;
      event.preventDefault();
      window.history.pushState(null, "", link.getAttribute("href"));
      tellHistory("PUSH");
    });
  });

  /* --- navigation ------------------------------------------------------------------------- */

  function urlOf(location) {
    if (location.url !== undefined) {
      var url = String(location.url);
      if (url.charAt(0) === "/" && url.charAt(1) !== "/") return { url: config.siteBase + url, external: false };
      return { url: new URL(url).href, external: true };
    }
    if (location.target === "module") {
      var base = config.modules[location.moduleKey];
      if (!base) throw new Error("The app has no page module called '" + location.moduleKey + "'.");
      return { url: withSignedIn(base + (location.path || "")), external: false };
    }
    if (location.target === "issue") {
      if (!location.issueKey) throw new Error("An issue target needs its issueKey.");
      return { url: withSignedIn(config.issuePath.replace("{issueKey}", encodeURIComponent(location.issueKey))), external: false };
    }
    throw new Error("Navigating to '" + location.target + "' is not emulated by the Jira sandbox.");
  }

  function askToLeave(url) {
    return new Promise(function (resolve, reject) {
      var backdrop = document.createElement("div");
      backdrop.className = "dialog-backdrop";
      var box = document.createElement("section");
      box.className = "dialog";
      box.setAttribute("role", "dialog");
      box.setAttribute("aria-modal", "true");
      box.setAttribute("aria-labelledby", "leave-title");
      var heading = document.createElement("h2");
      heading.id = "leave-title";
      heading.textContent = "Open an external link?";
      var text = document.createElement("p");
      text.textContent = "The app wants to open a page outside Jira: ";
      var where = document.createElement("code");
      var parsed = new URL(url);
      where.textContent = parsed.origin + parsed.pathname; // the query may hold a secret
      where.title = url;
      text.appendChild(where);
      var buttons = document.createElement("div");
      buttons.className = "dialog-buttons";
      var open = document.createElement("button");
      open.type = "button";
      open.className = "primary";
      open.textContent = "Open link";
      var cancel = document.createElement("button");
      cancel.type = "button";
      cancel.textContent = "Cancel";
      function done() { backdrop.remove(); }
      // Opened in the click itself, so the browser lets the new tab through.
      open.addEventListener("click", function () { done(); window.open(url, "_blank", "noopener"); resolve(); });
      cancel.addEventListener("click", function () { done(); reject(new Error("The person chose not to open the link.")); });
      backdrop.addEventListener("keydown", function (e) { if (e.key === "Escape") cancel.click(); });
      buttons.append(open, cancel);
      box.append(heading, text, buttons);
      backdrop.appendChild(box);
      dialogRoot.appendChild(backdrop);
      open.focus();
    });
  }

  function navigate(location) {
    var target = urlOf(location || {});
    // router docs: an external URL opens in a new tab once the person agrees, whichever
    // method asked; a relative one is not asked about.
    if (target.external) return askToLeave(target.url);
    if (location.type === "new-tab") {
      window.open(target.url, "_blank");
      return;
    }
    window.location.assign(target.url);
  }

  /* --- flags -------------------------------------------------------------------------------- */

  var flagTimers = {};
  function showFlag(options) {
    var type = ["success", "info", "warning", "error"].indexOf(options.type) >= 0 ? options.type : "info";
    var old = document.getElementById("host-flag-" + options.id);
    if (old) old.remove();
    var flag = document.createElement("div");
    flag.className = "flag flag-" + type;
    flag.id = "host-flag-" + options.id;
    flag.setAttribute("role", type === "error" ? "alert" : "status");
    var title = document.createElement("strong");
    title.textContent = options.title || "";
    var body = document.createElement("div");
    body.textContent = options.description || "";
    var close = document.createElement("button");
    close.type = "button";
    close.className = "flag-close";
    close.setAttribute("aria-label", "Dismiss");
    close.textContent = "×";
    close.addEventListener("click", function () { flag.remove(); });
    flag.append(title, body, close);
    flags.prepend(flag);
    if (options.isAutoDismiss) flagTimers[options.id] = setTimeout(function () { flag.remove(); }, 8000);
  }

  /* --- calls that leave the browser ------------------------------------------------------- */

  function server(path, body) {
    return fetch(config.siteBase + path, {
      method: "POST",
      headers: sessionHeaders(),
      body: JSON.stringify(Object.assign({ appId: config.appId }, body)),
      cache: "no-store",
    }).then(function (response) {
      // invokeRemote's "Other unhandled error": Jira itself could not make the call.
      if (!response.ok) throw new Error("An unexpected error happened");
      return response.json();
    });
  }

  function invoke(frame, payload) {
    var frameConfig = config.frames[frame.id];
    var input = { path: payload.path, method: payload.method, headers: payload.headers, body: payload.body };
    return server("/_forge/invoke", {
      moduleKey: frameConfig.moduleKey,
      localId: frameConfig.context.localId,
      extension: contextFor(frame).extension,
      input: input,
    }).then(function (answer) {
      if (!answer.ok) throw new Error(answer.message);
      return { success: true, payload: answer.payload };
    });
  }

  function fetchProduct(payload) {
    return server("/_forge/product", {
      product: payload.product,
      restPath: payload.restPath,
      init: payload.fetchRequestInit || {},
    });
  }

  function contextFor(frame) {
    var context = JSON.parse(JSON.stringify(config.frames[frame.id].context));
    if (context.extension && context.extension.location !== undefined) context.extension.location = window.location.href;
    return context;
  }

  /* --- the calls ---------------------------------------------------------------------------- */

  var handlers = {
    getContext: function (frame) { return contextFor(frame); },
    createHistory: function (frame) {
      if (!config.frames[frame.id].historyBase) throw new Error("createHistory is only available in full page modules.");
      if (historyFrames.indexOf(frame) < 0) historyFrames.push(frame);
      return { action: "POP", location: locationFor(config.frames[frame.id]) };
    },
    "history.push": function (frame, payload) {
      window.history.pushState(payload.state === undefined ? null : payload.state, "", hostUrlFor(config.frames[frame.id], payload.to));
      tellHistory("PUSH");
    },
    "history.replace": function (frame, payload) {
      window.history.replaceState(payload.state === undefined ? null : payload.state, "", hostUrlFor(config.frames[frame.id], payload.to));
      tellHistory("REPLACE");
    },
    "history.go": function (frame, payload) { window.history.go(payload.n); },
    navigate: function (frame, payload) { return navigate(payload); },
    getUrl: function (frame, payload) { return new URL(urlOf(payload).url, window.location.href).href; },
    showFlag: function (frame, payload) { showFlag(payload || {}); },
    closeFlag: function (frame, payload) {
      var flag = document.getElementById("host-flag-" + (payload || {}).id);
      if (flag) flag.remove();
    },
    reload: function () { window.location.reload(); },
    invoke: function (frame, payload) { return invoke(frame, payload || {}); },
    fetchProduct: function (frame, payload) { return fetchProduct(payload || {}); },
  };

  window.addEventListener("message", function (event) {
    var frame = frameOf(event.source);
    if (!frame || event.origin !== config.cdnOrigin) return;
    var message = event.data;
    if (!message || message.forgeBridge !== 1) return;
    if (message.hello) { post(frame, { ready: true }); return; }
    if (message.resize !== undefined) {
      var height = parseInt(message.resize, 10);
      if (!isNaN(height)) frame.style.height = Math.max(height, 150) + "px";
      return;
    }
    var handler = handlers[message.name];
    Promise.resolve()
      .then(function () {
        if (!handler) throw new Error("The bridge call '" + message.name + "' is not emulated by the Jira sandbox.");
        return handler(frame, message.payload);
      })
      .then(
        function (result) { if (message.id) post(frame, { id: message.id, result: result === undefined ? null : result }); },
        function (error) { if (message.id) post(frame, { id: message.id, error: error && error.message ? error.message : String(error) }); }
      );
  });

  // Frames that started first said hello to nobody: tell them this page listens now.
  frames.forEach(function (frame) {
    frame.addEventListener("load", function () { post(frame, { ready: true }); });
    if (frame.getAttribute("src")) post(frame, { ready: true });
  });

  // The issue view: a glance's panel opens on its button, and its frame loads then.
  document.querySelectorAll(".glance-button").forEach(function (button) {
    button.addEventListener("click", function () {
      var panel = document.getElementById(button.getAttribute("aria-controls"));
      var open = panel.hidden;
      panel.hidden = !open;
      button.setAttribute("aria-expanded", open ? "true" : "false");
      var frame = document.getElementById(button.getAttribute("data-frame"));
      if (open && !frame.getAttribute("src")) frame.setAttribute("src", frame.getAttribute("data-src"));
    });
  });

  var switcher = document.getElementById("host-user");
  if (switcher) {
    switcher.addEventListener("change", function () {
      var url = new URL(window.location.href);
      url.searchParams.set("as", switcher.value);
      window.location.href = url.toString();
    });
  }
})();
