// The door and the round without signal (issues 14, 26). Served from /sw.js so that it
// controls every path of the site: the door URLs /c/… and the compact cards' /C/… (issue 18),
// the household numbers typed in (/visit/…), the round and every other page.
// - A door URL or a typed number that cannot be fetched, or that the network has not
//   answered within a few seconds (a stairwell's trickle of signal), is answered with the one
//   check-in form kept here (/door/offline), filled on the phone from the round pack by
//   door-offline.js — which also answers a card or a number the pack does not hold.
// - The round page: the last one the network gave is kept and answered the same way. It names
//   elders, so it is kept for the one account it was made for, here in this worker's own
//   Cache Storage (the server sends every page no-store: no HTTP cache holds it), answered
//   only while the form kept here is that account's too, and dropped when anyone signs in or
//   out, when a page has no session ("wipe" from queue.js) and when another account's comes.
// - Any other page that cannot be fetched gets the kept form too, which then says only that
//   the page needs the network and leads back to the round.
// Whatever is answered from here is marked (<body data-offline>) so that the page says 无网络.
// With nobody signed in nothing is kept and nothing is answered: the browser's own page.
var SHELL = "carevisits-shell-v2";  // a new name re-keeps FILES on installed phones
var PAGES = "carevisits-pages-v1";
var FILES = ["/static/app.css", "/static/queue.js", "/static/checkin.js",
             "/static/door-offline.js", "/static/signal.js", "/static/round.js",
             // the home-screen app (issue 14 §5): its manifest and icons
             "/static/manifest.webmanifest", "/static/icons/icon-192.png",
             "/static/icons/icon-512.png", "/static/icons/icon-maskable-512.png",
             "/static/icons/apple-touch-icon.png"];
var FORM = "/door/offline";
var ROUND = "/round/";
var WAIT_MS = 4000;
var DOOR = /^\/(c|visit)\//i;
var SIGN_IN_OR_OUT = /^\/(login|logout)(\/|$)/;
var ACCOUNT = /<body[^>]*\sdata-user="(\d+)"/;
var KEPT_FOR = "X-Kept-For";
var KEPT_AT = "X-Kept-At";

// Every change to what is kept, one after the other: a sign-in's wipe is done before the
// new account's round is kept.
var queue = Promise.resolve();
function serial(task) {
  queue = queue.then(task, task);
  return queue;
}

// A page of the network kept with the account it shows (from its <body data-user>) and when.
function kept(response) {
  return response.text().then(function (text) {
    var account = ACCOUNT.exec(text);
    if (!account) return null;
    var headers = new Headers(response.headers);
    headers.delete("Content-Length");  // the body is read whole, and marked when answered
    headers.set(KEPT_FOR, account[1]);
    headers.set(KEPT_AT, String(Date.now()));
    return new Response(text, {status: 200, headers: headers});
  });
}

function keepForm() {
  // Only a signed-in visitor gets the form; anything else (a sign-in page) is not kept.
  return fetch(FORM, {credentials: "same-origin", redirect: "manual"}).then(function (r) {
    if (r.status !== 200) return null;
    return kept(r).then(function (page) {
      if (page) return caches.open(SHELL).then(function (cache) { return cache.put(FORM, page); });
    });
  }, function () { /* no signal: keep the form we have */ });
}

// The round as the network gave it, for its account only: another account's goes first.
function keepRound(response) {
  if (response.status !== 200 || response.type !== "basic" ||
      (response.headers.get("Content-Type") || "").indexOf("text/html") !== 0) {
    return Promise.resolve();
  }
  return kept(response).then(function (page) {
    if (!page) return forget();
    return caches.open(PAGES).then(function (cache) {
      return cache.match(ROUND).then(function (old) {
        if (old && old.headers.get(KEPT_FOR) !== page.headers.get(KEPT_FOR)) {
          return forget().then(function () { return caches.open(PAGES); });
        }
        return cache;
      });
    }).then(function (cache) { return cache.put(ROUND, page); });
  });
}

// Nobody's pages are kept any more: the round and the form.
function forget() {
  return Promise.all([caches.delete(PAGES), caches.open(SHELL).then(function (cache) {
    return cache.delete(FORM);
  })]);
}

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(SHELL).then(function (cache) {
    return cache.addAll(FILES).then(keepForm);
  }).then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (n) { return n !== SHELL && n !== PAGES; })
      .map(function (n) { return caches.delete(n); }));
  }).then(function () { return self.clients.claim(); }));
});

// The round page asks for a fresh copy of the form (language, sign-in); sign-out wipes all.
self.addEventListener("message", function (event) {
  if (event.data === "refresh") event.waitUntil(serial(keepForm));
  if (event.data === "wipe") event.waitUntil(serial(forget));
});

self.addEventListener("fetch", function (event) {
  var request = event.request;
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === "navigate" && request.method === "POST" &&
      SIGN_IN_OR_OUT.test(url.pathname)) {
    event.waitUntil(serial(forget));  // answered by the network; nothing kept survives it
    return;
  }
  if (request.method !== "GET") return;
  if (FILES.indexOf(url.pathname) >= 0) {  // opened by a page or by itself
    event.respondWith(fetch(request).catch(function () { return caches.match(url.pathname); }));
  } else if (request.mode === "navigate") {
    event.respondWith(navigate(event, request, url));
  }
});

function navigate(event, request, url) {
  if (DOOR.test(url.pathname)) return networkOr(fetch(request), keptForm);
  if (url.pathname === ROUND) {
    var network = fetch(request);
    // Copied before the page reads it, kept however late it comes.
    var copy = network.then(function (response) { return response.clone(); });
    event.waitUntil(copy.then(function (response) {
      return serial(function () { return keepRound(response); });
    }, function () { /* no signal: keep the round we have */ }));
    return networkOr(network, keptRound);
  }
  if (url.pathname === "/visit" && url.searchParams.has("number")) {
    // The round's number box without signal: the number's own door address.
    return fetch(request).catch(function () { return numberAddress(url); });
  }
  return fetch(request).catch(function () {
    return keptForm().then(function (page) { return page || Response.error(); });
  });
}

function numberAddress(url) {
  var typed = url.searchParams.get("number").normalize("NFKC").replace(/[^0-9]/g, "");
  return Response.redirect(new URL("/visit/" + (typed || "0"), url).href, 303);
}

// The page from the network; the kept one when the network fails, or when it has not
// answered within WAIT_MS and one is kept (without one, the network is waited for).
function networkOr(network, keptPage) {
  return new Promise(function (resolve) {
    var done = false;
    function answer(response) {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(response);
    }
    var timer = setTimeout(function () {
      keptPage().then(function (page) { if (page) answer(page); });
    }, WAIT_MS);
    network.then(answer, function () {
      keptPage().then(function (page) { answer(page || Response.error()); });
    });
  });
}

function keptForm() {
  return caches.match(FORM).then(function (page) { return page ? fromPhone(page, "") : null; });
}

// The round kept here, only while the form kept here is the same account's.
function keptRound() {
  return Promise.all([caches.match(ROUND), caches.match(FORM)]).then(function (pages) {
    var round = pages[0], form = pages[1];
    if (!round || !form || round.headers.get(KEPT_FOR) !== form.headers.get(KEPT_FOR)) {
      return keptForm();
    }
    return fromPhone(round, round.headers.get(KEPT_AT));
  });
}

// A kept page marked as answered from the phone (and, for the round, when it was kept).
function fromPhone(page, keptAt) {
  return page.text().then(function (text) {
    return new Response(text.replace(/<body/, '<body data-offline="' + (keptAt || "") + '"'),
                        {status: 200, headers: page.headers});
  });
}
