// The door without signal (issue 14 §2). Served from /sw.js so that it controls /c/… and
// the compact cards' /C/… (issue 18):
// a door URL that cannot be fetched is answered with the one check-in form kept here
// (/door/offline, filled on the phone from the round pack by door-offline.js); the app's
// own files are answered from here when the network fails. A door URL the network has not
// answered within a few seconds (a stairwell's trickle of signal) gets the kept form too. Nothing personal is kept by
// this worker: the form it keeps names nobody; the pack lives in IndexedDB.
var SHELL = "carevisits-shell-v2";  // a new name re-keeps FILES on installed phones
var FILES = ["/static/app.css", "/static/queue.js", "/static/checkin.js",
             "/static/door-offline.js",
             // the home-screen app (issue 14 §5): its manifest and icons
             "/static/manifest.webmanifest", "/static/icons/icon-192.png",
             "/static/icons/icon-512.png", "/static/icons/icon-maskable-512.png",
             "/static/icons/apple-touch-icon.png"];
var FORM = "/door/offline";
var DOOR_WAIT_MS = 4000;

function keepForm(cache) {
  // Only a signed-in visitor gets the form; anything else (a sign-in page) is not kept.
  return fetch(FORM, {credentials: "same-origin", redirect: "manual"}).then(function (r) {
    if (r.status === 200) return cache.put(FORM, r);
  }, function () { /* no signal: keep the form we have */ });
}

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(SHELL).then(function (cache) {
    return cache.addAll(FILES).then(function () { return keepForm(cache); });
  }).then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (n) { return n !== SHELL; })
      .map(function (n) { return caches.delete(n); }));
  }).then(function () { return self.clients.claim(); }));
});

// The round page asks for a fresh copy of the form (language, sign-in); sign-out wipes it.
self.addEventListener("message", function (event) {
  if (event.data === "refresh") event.waitUntil(caches.open(SHELL).then(keepForm));
  if (event.data === "wipe") event.waitUntil(caches.open(SHELL).then(function (cache) {
    return cache.delete(FORM);
  }));
});

self.addEventListener("fetch", function (event) {
  var request = event.request;
  var url = new URL(request.url);
  if (url.origin !== self.location.origin || request.method !== "GET") return;
  if (request.mode === "navigate" && /^\/c\//i.test(url.pathname)) {
    event.respondWith(door(request));
    return;
  }
  if (FILES.indexOf(url.pathname) >= 0) {
    event.respondWith(fetch(request).catch(function () { return caches.match(url.pathname); }));
  }
});

// The door page from the network; the kept form when the network fails, or when it has not
// answered within DOOR_WAIT_MS and a form is kept (without one, the network is waited for).
function door(request) {
  return new Promise(function (resolve) {
    var done = false;
    function answer(response) {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(response);
    }
    var timer = setTimeout(function () {
      caches.match(FORM).then(function (kept) { if (kept) answer(kept); });
    }, DOOR_WAIT_MS);
    fetch(request).then(answer, function () {
      caches.match(FORM).then(function (kept) { answer(kept || Response.error()); });
    });
  });
}
