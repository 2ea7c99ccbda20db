// The elder's 我很好 without signal (issue 26, item 7). Every press is first kept on the phone
// (localStorage: WeChat's browser may run no service worker) with a key of its own and the
// phone's time, then sent in the background. Sent: the page opens again and shows the day's
// check-in. Not sent (no signal, a timeout, the server in trouble): the page says it is noted
// and sent when the network is back, and it is sent then — when the browser says the network
// is back, every 30 seconds while the page is open, and the next time the page is opened —
// with how long it waited by the phone's clock, so the server dates it when it was pressed.
// The key makes a press sent twice one check-in. Without this script the form posts itself.
(function () {
  var form = document.getElementById("press");
  if (!form || !window.fetch) return;
  var STORE = "selfcheck:" + location.pathname;
  var RETRY_MS = 30000;
  var TIMEOUT_MS = 5000;  // as the door form: a trickle of signal is no signal
  var ONE_PRESS_MS = 60000;
  var memory = [];  // when the browser keeps no storage (private mode): this page only
  var sending = null;

  function load() {
    try { return JSON.parse(localStorage.getItem(STORE) || "[]"); } catch (e) { return memory; }
  }
  function save(presses) {
    memory = presses;
    try {
      if (presses.length) localStorage.setItem(STORE, JSON.stringify(presses));
      else localStorage.removeItem(STORE);
    } catch (e) { /* storage blocked: kept in memory while the page is open */ }
  }

  function newKey() {
    var bytes = new Uint8Array(16);
    (window.crypto || window.msCrypto).getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  function clock(ms) {
    var d = new Date(ms);
    return ("0" + d.getHours()).slice(-2) + ":" + ("0" + d.getMinutes()).slice(-2);
  }

  function showKept(presses) {
    var kept = document.querySelector(".kept");
    if (!kept || !presses.length) return;
    kept.querySelector(".time").textContent = clock(presses[presses.length - 1].at);
    kept.hidden = false;
    var done = document.querySelector(".done, .ask");
    if (done) done.hidden = true;
    form.classList.add("again");
  }

  function post(press, token) {
    var body = new URLSearchParams();
    body.set("csrf_token", token);
    body.set("key", press.key);
    body.set("waited", String(Math.max(0, Math.round((Date.now() - press.at) / 1000))));
    var controller = window.AbortController ? new AbortController() : null;
    var timer = setTimeout(function () { if (controller) controller.abort(); }, TIMEOUT_MS);
    return fetch(form.action, {
      method: "POST", credentials: "same-origin", body: body,
      headers: {"Accept": "application/json"}, signal: controller ? controller.signal : undefined
    }).then(function (r) { clearTimeout(timer); return r; },
            function (e) { clearTimeout(timer); throw e; });
  }

  // A fresh CSRF token from the page itself (the browser may have dropped its cookie).
  function freshToken() {
    return fetch(location.href, {credentials: "same-origin"}).then(function (r) { return r.text(); })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        var input = doc.querySelector("#press input[name=csrf_token]");
        if (!input) throw new Error("no token");
        form.querySelector("input[name=csrf_token]").value = input.value;
        return input.value;
      });
  }

  // What became of one press: "sent" (or no longer to send), "keep" (try again later).
  function sendOne(press) {
    var token = form.querySelector("input[name=csrf_token]").value;
    return post(press, token).then(function (r) {
      if (r.status === 400) {
        return r.json().catch(function () { return {}; }).then(function (data) {
          if (!data.retry) return "sent";  // refused as it is: sending again changes nothing
          return freshToken().then(function (t) { return post(press, t); }).then(function (r2) {
            return r2.ok || (r2.status >= 400 && r2.status < 500 && r2.status !== 429) ? "sent" : "keep";
          });
        });
      }
      // 404: the link stopped working; 422: waited days, no news of today. Nothing to keep.
      if (r.ok || r.status === 404 || r.status === 422) return "sent";
      return "keep";  // 429, 5xx: the server will take it later
    }, function () { return "keep"; });
  }

  // Send the kept presses oldest first; the first that cannot go keeps the rest with it.
  function flush() {
    if (sending) return sending;
    var presses = load();
    if (!presses.length) return Promise.resolve(false);
    var gone = [];
    sending = presses.reduce(function (chain, press) {
      return chain.then(function (go) {
        if (!go) return false;
        return sendOne(press).then(function (what) {
          if (what === "keep") return false;
          gone.push(press.key);
          return true;
        });
      });
    }, Promise.resolve(true)).then(function () {
      // Presses made meanwhile (another tab) stay with those not sent.
      var left = load().filter(function (p) { return gone.indexOf(p.key) < 0; });
      save(left);
      sending = null;
      if (left.length) { showKept(left); return false; }
      location.replace(location.pathname);  // the page shows the day's check-in
      return true;
    }, function () { sending = null; return false; });
    return sending;
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var presses = load();
    var last = presses[presses.length - 1];
    if (!last || Date.now() - last.at >= ONE_PRESS_MS) {
      presses.push({key: newKey(), at: Date.now()});
      save(presses);
    }
    form.querySelector("button").disabled = true;
    flush().then(function (sent) {
      if (!sent) {
        form.querySelector("button").disabled = false;
        showKept(load());
      }
    });
  });

  var waiting = load();
  if (waiting.length) { showKept(waiting); flush(); }
  window.addEventListener("online", flush);
  setInterval(function () { if (load().length) flush(); }, RETRY_MS);
})();
