// Visits kept on the phone: a check-in that could not reach the server (no signal, a
// timeout, an ended session) waits in IndexedDB with its idempotency key and the phone's
// time at the door, and is sent from here in the order the visits were made: at each page
// load, when the browser says the network is back, and every 30 seconds. The server's
// idempotency key makes a resend of a visit that did arrive harmless; a queued visit is
// sent with its age by the phone's own clock (the server dates it from that). A visit the
// server refuses (household no longer in the area, a wrong value) stays listed with its
// reason, the outcomes entered and a link that opens its form again, until the visitor
// dismisses it; one the server fails on (5xx) is retried later without holding up the
// others. A phone may be shared: each visit belongs to the account that kept it, only that
// account sees, sends or deletes it; another account's are only counted. Signing out sends
// what waits first and keeps on the phone what could not be sent, for the same account's
// next sign-in here (the sign-out page says how many). Every text comes from the page
// (#queue-texts), in the user's language. Loaded on every page.
(function () {
  var texts = document.getElementById("queue-texts");
  if (!texts || !window.indexedDB) return;
  var T = texts.dataset;
  var RETRY_MS = 30000;
  var TIMEOUT_MS = 8000;
  var PROBE_MS = 4000;
  var PACK_DAYS = 3;
  // Another account's visits are deleted only after this long unused on this phone (its
  // owner signed out and never came back): long enough for leave and shifts; the server
  // takes queued visits up to 72 hours back, an older one is only shown to be entered again.
  var OTHERS_DAYS = 14;
  var DAY_MS = 86400000;
  var me = document.body.getAttribute("data-user") || "";
  var dbPromise = null;
  var running = null;  // the send under way, which a sign-out waits for
  var signin = false;
  var sent = [];
  var notice = null;  // one line the page asked to show (sign-out without network)

  function open() {
    if (!dbPromise) {
      dbPromise = new Promise(function (resolve, reject) {
        var req = indexedDB.open("carevisits", 1);
        req.onupgradeneeded = function () {
          var db = req.result;
          if (!db.objectStoreNames.contains("queue")) db.createObjectStore("queue", {keyPath: "key"});
          if (!db.objectStoreNames.contains("pack")) db.createObjectStore("pack", {keyPath: "name"});
        };
        req.onsuccess = function () { resolve(req.result); };
        req.onerror = function () { reject(req.error); };
      });
    }
    return dbPromise;
  }

  function store(mode, work) {
    return open().then(function (db) {
      return new Promise(function (resolve, reject) {
        var tx = db.transaction("queue", mode);
        var result = work(tx.objectStore("queue"));
        tx.oncomplete = function () { resolve(result && "result" in result ? result.result : undefined); };
        tx.onerror = function () { reject(tx.error); };
      });
    });
  }

  function all() {
    return store("readonly", function (s) { return s.getAll(); }).then(function (items) {
      return (items || []).sort(function (a, b) { return a.created - b.created; });
    });
  }

  function mine(items) { return items.filter(function (i) { return me && i.user === me; }); }
  function waitingOf(items) { return items.filter(function (i) { return i.state === "waiting"; }); }

  function get(key) { return store("readonly", function (s) { return s.get(key); }); }
  function put(item) { return store("readwrite", function (s) { s.put(item); }); }
  function remove(key) { return store("readwrite", function (s) { s.delete(key); }); }

  // A fetch that gives up after a few seconds: a stairwell's trickle of signal is no signal.
  function send(url, options, timeout) {
    var controller = window.AbortController ? new AbortController() : null;
    var timer = setTimeout(function () { if (controller) controller.abort(); }, timeout || TIMEOUT_MS);
    if (controller) options.signal = controller.signal;
    options.credentials = "same-origin";
    return fetch(url, options).then(function (response) {
      clearTimeout(timer);
      return response.json().catch(function () { return {}; }).then(function (data) {
        return {status: response.status, data: data};
      });
    }, function (error) {
      clearTimeout(timer);
      throw error;
    });
  }

  function post(url, body, token, timeout) {
    var headers = {"Accept": "application/json",
                   "Content-Type": "application/x-www-form-urlencoded"};
    if (token) headers["X-CSRFToken"] = token;
    return send(url, {method: "POST", headers: headers, body: body}, timeout);
  }

  // The session's state: {status, data} with data.csrf (a fresh token) and data.user.
  function session(timeout) {
    return send(T.session, {method: "GET", headers: {"Accept": "application/json"}}, timeout);
  }

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text) node.textContent = text;
    return node;
  }

  function banner() {
    var box = document.getElementById("queue-banner");
    if (!box) {
      box = el("div", "queue-banner");
      box.id = "queue-banner";
      box.setAttribute("role", "status");
      var main = document.querySelector("main") || document.body;
      main.insertBefore(box, main.firstChild);
    }
    return box;
  }

  function clock(ms) {
    var d = new Date(ms);
    return ("0" + d.getHours()).slice(-2) + ":" + ("0" + d.getMinutes()).slice(-2);
  }

  // The door form open on this page: say when a visit to this door already waits here.
  function doorNote(waiting) {
    var form = document.getElementById("checkin");
    var note = document.getElementById("queue-door");
    var here = waiting.filter(function (i) { return i.url === location.pathname; });
    if (!form || form.hidden || !here.length) {  // hidden: this page's own visit, kept
      if (note) note.remove();
      return;
    }
    if (!note) {
      note = el("p", "flash warn queue-door");
      note.id = "queue-door";
      note.setAttribute("role", "status");
      form.parentNode.insertBefore(note, form);
    }
    note.textContent = T.doorWaiting.replace("{time}", clock(here[here.length - 1].created));
  }

  // The page's own "saved on this phone" note goes once its visit has left the queue.
  function pageNotes(waiting) {
    document.querySelectorAll(".saved-offline[data-key]").forEach(function (note) {
      var key = note.getAttribute("data-key");
      if (waiting.some(function (i) { return i.key === key; })) return;
      note.remove();
      document.querySelectorAll(".offline-note").forEach(function (n) { n.hidden = true; });
    });
  }

  function reopen(item) {
    try { sessionStorage.setItem("checkin-restore:" + item.url, item.key); } catch (e) { /* none */ }
    location.assign(item.url);
  }

  function render() {
    return all().then(function (items) {
      var own = mine(items);
      var waiting = waitingOf(own);
      var refused = own.filter(function (i) { return i.state === "refused"; });
      var others = me ? waitingOf(items).length - waiting.length : 0;
      var box = banner();
      box.textContent = "";
      if (notice) box.appendChild(el("p", "flash error queue-notice", notice));
      if (waiting.length) {
        box.appendChild(el("p", "flash warn queue-count", T.waiting.replace("{n}", waiting.length)));
        if (signin) {
          var p = el("p", "flash error queue-signin", T.signin + " ");
          var a = el("a", "button", T.signinLink);
          a.href = T.login + "?next=" + encodeURIComponent(location.pathname);
          p.appendChild(a);
          box.appendChild(p);
        }
      }
      waiting.forEach(function (item) {
        if (item.failures) box.appendChild(el("p", "flash warn queue-failing",
                                              T.failing.replace("{what}", item.label)));
      });
      if (others > 0) box.appendChild(el("p", "flash queue-others", T.others.replace("{n}", others)));
      refused.forEach(function (item) {
        var p = el("p", "flash error queue-refused", T.refused.replace("{what}", item.label)
          .replace("{why}", item.error || ""));
        if (item.summary) p.appendChild(el("span", "queue-summary", " " + item.summary));
        var again = el("button", "link queue-reopen", T.reopen);
        again.type = "button";
        again.addEventListener("click", function () { reopen(item); });
        var b = el("button", "link queue-dismiss", T.dismiss);
        b.type = "button";
        b.addEventListener("click", function () { remove(item.key).then(render); });
        p.appendChild(document.createTextNode(" "));
        p.appendChild(again);
        p.appendChild(document.createTextNode(" "));
        p.appendChild(b);
        box.appendChild(p);
      });
      sent.forEach(function (s) {
        var p = el("p", "flash queue-sent", T.sent.replace("{what}", s.label) + " ");
        var a = el("a", "", T.open);
        a.href = s.url;
        p.appendChild(a);
        box.appendChild(p);
      });
      box.hidden = !box.firstChild;
      doorNote(waiting);
      pageNotes(waiting);
      return waiting.length;
    });
  }

  // One queued visit, with its age by the phone's clock (the server dates it from that).
  function sendItem(item, token) {
    var age = Math.max(0, Math.round((Date.now() - item.created) / 1000));
    return post(item.url, item.body + "&queued=1&queued_age=" + age, token);
  }

  // What became of one visit sent: "next" (go on with the others), "stop" (no network or
  // no session: the next try keeps the order).
  function settle(item, r) {
    if (r.data.ok) {
      sent.push({label: item.label, url: r.data.url});
      return remove(item.key).then(function () { return "next"; });
    }
    if (r.status === 401 || r.data.signin) { signin = true; return Promise.resolve("stop"); }
    if (r.status >= 400 && r.status < 500 && r.status !== 429) {
      item.state = "refused";
      item.error = r.data.error || T.refusedStatus.replace("{status}", r.status);
      return put(item).then(function () { return "next"; });
    }
    // The server is in trouble with this one (5xx): try it again later, send the others.
    item.failures = (item.failures || 0) + 1;
    return put(item).then(function () { return "next"; });
  }

  // Send the signed-in account's waiting visits one by one, oldest first.
  function flush() {
    if (running) return running;
    running = all().then(function (items) {
      var waiting = waitingOf(items);
      if (!waiting.length) return null;
      return session().then(function (answer) {
        if (answer.status === 401) { signin = true; return dropPack().then(function () { return null; }); }
        if (answer.status !== 200 || !answer.data.csrf) return null;
        signin = false;
        var user = String(answer.data.user);
        var token = answer.data.csrf;
        var theirs = waiting.filter(function (i) { return i.user === user; });
        return theirs.reduce(function (chain, item) {
          return chain.then(function (go) {
            if (go !== "next") return go;
            return sendItem(item, token).then(function (r) {
              if (r.status !== 400 || !r.data.retry) return settle(item, r);
              // A stale CSRF token with a live session: a fresh one, and once more.
              return session().then(function (again) {
                if (again.status !== 200 || !again.data.csrf) return settle(item, again);
                token = again.data.csrf;
                return sendItem(item, token).then(function (r2) {
                  if (r2.status === 400 && r2.data.retry) r2 = {status: 500, data: {}};
                  return settle(item, r2);
                });
              });
            }, function () { return "stop"; });
          });
        }, Promise.resolve("next"));
      }, function () { return null; });
    }).catch(function () { return null; }).then(function () {
      running = null;
      return render();
    }, function () { running = null; });
    return running;
  }

  // Keep one visit on the phone: its form as sent, without the CSRF token (a fresh one is
  // asked for at sending time); ``summary`` names each elder's outcome, for a refusal.
  function keep(url, body, label, summary) {
    var params = new URLSearchParams(body);
    params.delete("csrf_token");
    var key = params.get("idempotency_key");
    return put({key: key, url: url, body: params.toString(), label: label,
                summary: summary || "", at: params.get("client_time"), created: Date.now(),
                state: "waiting", failures: 0, user: me}).then(render);
  }

  // The signed-in account's visits waiting for one door URL.
  function waitingAt(url) {
    return all().then(function (items) {
      return waitingOf(mine(items)).filter(function (i) { return i.url === url; });
    });
  }

  // Signing out deletes what belongs to the session: the pack, the door pages' keys in this
  // tab, the form the service worker keeps. Visits stay, every account's: the same
  // account's next sign-in on this phone sends them.
  function wipe() {
    tellWorker("wipe");
    try {
      for (var i = sessionStorage.length - 1; i >= 0; i--) {
        var k = sessionStorage.key(i);
        if (k && k.indexOf("checkin-") === 0) sessionStorage.removeItem(k);
      }
    } catch (e) { /* storage blocked */ }
    return open().then(function (db) {
      return new Promise(function (resolve) {
        var tx = db.transaction("pack", "readwrite");
        tx.objectStore("pack").clear();
        tx.oncomplete = resolve;
        tx.onerror = resolve;
      });
    }).catch(function () {});
  }

  window.cvQueue = {keep: keep, flush: flush, post: post, render: render, wipe: wipe,
                    get: get, remove: remove, waitingAt: waitingAt, session: session,
                    needSignIn: function () { signin = true; return render(); }};

  // Signing out needs the network (the form's own send would fail): without it nothing
  // changes and the visitor is told. With it, the account's waiting visits are sent first;
  // what could not be sent (or was refused) stays on the phone, and the form tells the
  // server how many, so the sign-out page says so.
  document.querySelectorAll("form.sign-out").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (form.hasAttribute("data-wiped")) return;
      event.preventDefault();
      var reachable = navigator.onLine === false ? Promise.resolve(false) :
        send(T.worker, {method: "HEAD", cache: "no-store"}, PROBE_MS)
          .then(function () { return true; }, function () { return false; });
      reachable.then(function (online) {
        if (!online) {
          notice = T.signoutOffline;
          return render().then(function () {
            banner().scrollIntoView({block: "start"});
            return false;
          });
        }
        notice = T.signoutSending;
        return render().then(flush).then(all).then(function (items) {
          var kept = mine(items).length;
          var field = form.querySelector("input[name=kept]");
          if (field) field.value = kept ? String(kept) : "";
        }).catch(function () { /* the server counts nothing: the visits stay all the same */ })
          .then(wipe).then(function () { return true; });
      }).then(function (go) {
        if (!go) return;
        form.setAttribute("data-wiped", "");
        form.submit();
      });
    });
  });

  // The round page keeps the round pack for the door form without signal (one record).
  function keepPack() {
    if (!T.pack) return Promise.resolve();
    return send(T.pack, {method: "GET", headers: {"Accept": "application/json"}}).then(function (r) {
      if (r.status !== 200 || !r.data.households) return;
      return open().then(function (db) {
        var tx = db.transaction("pack", "readwrite");
        tx.objectStore("pack").put({name: "round", saved: Date.now(), data: r.data});
      });
    }, function () { /* no signal: keep the pack we have */ });
  }

  // The pack belongs to a session: a page without one (signed out, session ended) drops it.
  function dropPack() {
    return open().then(function (db) {
      db.transaction("pack", "readwrite").objectStore("pack").clear();
    });
  }

  // The service worker (static/sw.js) opens the door form without signal: registered for a
  // signed-in visitor; the round page has it refresh its copy of the form. Without a
  // session, the form it keeps is dropped with the pack.
  var worker = navigator.serviceWorker;
  function tellWorker(message) {
    if (!worker) return Promise.resolve();
    return worker.getRegistration("/").then(function (reg) {
      var active = reg && (reg.active || reg.waiting || reg.installing);
      if (active) active.postMessage(message);
    }).catch(function () {});
  }
  if (worker && me && T.pack) {
    worker.register(T.worker, {scope: "/"}).then(function () { tellWorker("refresh"); })
      .catch(function () { /* no service worker here (some in-app browsers) */ });
  }

  // A pack older than a few days is not kept (the round page fetches a new one online);
  // another account's visits are deleted after OTHERS_DAYS.
  open().then(function (db) {
    var get = db.transaction("pack").objectStore("pack").get("round");
    get.onsuccess = function () {
      if (get.result && Date.now() - get.result.saved > PACK_DAYS * DAY_MS) dropPack();
    };
  }).catch(function () {});
  if (me) {
    all().then(function (items) {
      items.forEach(function (i) {
        if (i.user !== me && Date.now() - i.created > OTHERS_DAYS * DAY_MS) remove(i.key);
      });
    }).catch(function () {});
  }

  if (!me) {
    dropPack();
    tellWorker("wipe");
  }
  render().then(flush).then(keepPack);
  window.addEventListener("online", flush);
  setInterval(flush, RETRY_MS);
})();
