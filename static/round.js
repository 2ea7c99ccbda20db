// The round page, from the network or kept on the phone (static/sw.js). Households whose
// visit waits on this phone are marked; at /round/#after-<number> (下一户 after a save) the
// next due household after that one in the round's order is marked and scrolled to, past
// those not due and those whose visit waits on the phone: on a round kept on the phone the
// badges are as they were when it was kept, and the phone's own visits say what has been
// done since. A waiting visit is the signed-in account's, in the queue (IndexedDB,
// static/queue.js), and names its household by its address: a typed number, or a card whose
// token the round pack knows by its hash (as door-offline.js finds it).
(function () {
  var texts = document.getElementById("round-texts");
  if (!texts) return;
  var me = document.body.getAttribute("data-user") || "";
  var DUE = ["due", "late"];
  var after = /^#after-(\d+)$/.exec(location.hash);

  function rows() {
    return Array.prototype.slice.call(document.querySelectorAll("li[data-number]"));
  }

  function badge(row, cls, text) {
    var span = document.createElement("span");
    span.className = "badge " + cls;
    span.textContent = text;
    row.insertBefore(span, row.firstChild);
  }

  // What the phone holds: {queue: [visits], pack: the round pack or null}.
  function stored() {
    return new Promise(function (resolve, reject) {
      if (!window.indexedDB) { reject(); return; }
      var req = indexedDB.open("carevisits");
      req.onupgradeneeded = function () {  // first use of this phone's storage: as queue.js
        req.result.createObjectStore("queue", {keyPath: "key"});
        req.result.createObjectStore("pack", {keyPath: "name"});
      };
      req.onerror = function () { reject(req.error); };
      req.onsuccess = function () {
        var tx = req.result.transaction(["queue", "pack"]);
        var queue = tx.objectStore("queue").getAll();
        var pack = tx.objectStore("pack").get("round");
        tx.oncomplete = function () {
          var kept = pack.result && pack.result.data;
          resolve({queue: queue.result || [],
                   pack: kept && String(kept.user) === me ? kept : null});
        };
        tx.onerror = function () { reject(tx.error); };
      };
    });
  }

  function sha256(value) {
    if (!window.crypto || !crypto.subtle || !window.TextEncoder) return Promise.resolve("");
    return crypto.subtle.digest("SHA-256", new TextEncoder().encode(value)).then(function (b) {
      return Array.prototype.map.call(new Uint8Array(b), function (x) {
        return ("0" + x.toString(16)).slice(-2);
      }).join("");
    });
  }

  // The household number of one waiting visit's door address ("" when not known here).
  function numberOf(url, pack) {
    var typed = /^\/visit\/([^/]+)$/.exec(url);
    if (typed) return Promise.resolve(decodeURIComponent(typed[1]).replace(/[^0-9]/g, ""));
    var card = /^\/c\/([^/]+)$/i.exec(url);
    if (!card || !pack) return Promise.resolve("");
    var token = decodeURIComponent(card[1]);
    if (/^[A-Za-z2-7]{32}$/.test(token)) token = token.toUpperCase();
    return sha256(token).then(function (key) {
      var found = pack.households.filter(function (h) { return h.key === key; })[0];
      return found ? found.number : "";
    });
  }

  function waitingNumbers(held) {
    var mine = held.queue.filter(function (i) { return i.user === me && i.state === "waiting"; });
    return Promise.all(mine.map(function (i) { return numberOf(i.url, held.pack); }))
      .then(function (numbers) {
        var waiting = {};
        numbers.forEach(function (n) { if (n) waiting[n] = true; });
        return waiting;
      });
  }

  function mark(waiting) {
    rows().forEach(function (row) {
      if (waiting[row.getAttribute("data-number")]) {
        row.classList.add("waiting-here");
        badge(row, "warn waiting-badge", texts.getAttribute("data-waiting"));
      }
    });
  }

  // The next due household after ``number`` in the page's order (from the top again at the
  // end), not waiting on the phone.
  function next(number, waiting) {
    var all = rows();
    var at = -1;
    all.forEach(function (row, i) { if (at < 0 && row.getAttribute("data-number") === number) at = i; });
    var order = all.slice(at + 1).concat(all.slice(0, at + 1));
    var found = order.filter(function (row) {
      var n = row.getAttribute("data-number");
      return n !== number && !waiting[n] && DUE.indexOf(row.getAttribute("data-state")) >= 0;
    })[0];
    if (!found) {
      var none = document.getElementById("round-none");
      none.hidden = false;
      none.scrollIntoView({block: "center"});
      return;
    }
    var target = found.getAttribute("data-number");
    all.filter(function (row) { return row.getAttribute("data-number") === target; })
      .forEach(function (row, i) {
        row.classList.add("round-next");
        if (i === 0) badge(row, "next", texts.getAttribute("data-next"));
        for (var d = row.closest("details"); d; d = d.parentNode.closest("details")) d.open = true;
      });
    found.scrollIntoView({block: "center"});
  }

  stored().then(waitingNumbers).then(function (waiting) {
    mark(waiting);
    if (after) next(after[1], waiting);
  }, function () {
    if (after) next(after[1], {});
  });
})();
