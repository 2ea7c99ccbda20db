// The page the service worker answers from the phone without signal (/door/offline, kept by
// static/sw.js). At a door URL it is the check-in form filled from the round pack kept on the
// phone (IndexedDB) — address, elders, tags, care level, last visit, services due, the
// volunteer's roster and whether readings are taken — by copying the form's placeholder elder
// ("e0-…") and service for each one, so the form is the server's own template. The pack names
// each household by the SHA-256 of its door token (never the token): the token of this URL is
// hashed to find it. At a typed household number (/visit/<number>) the pack is searched by
// number and the form asks why the card was not scanned, as online. A card the pack does not
// hold (or no fresh pack at all) asks for the number printed on the card (issue 26 §6); a
// number it does not hold gets the form "for everyone at this door": one outcome and a note,
// which the server records for each elder on its register once it has checked the number and
// the visitor's area. Any other page says that it needs the network (issue 26 §5).
(function () {
  var door = document.getElementById("offline-door");
  var unpacked = document.getElementById("offline-unpacked");
  if (!door || !window.indexedDB) return;
  var PACK_DAYS = 3;  // an older pack is not shown (the round page replaces it when online)
  var EVERYONE = "everyone";  // the prefix the server reads as "for every elder here"
  var path = location.pathname;
  var atCard = /^\/c\//i.test(path);
  var typed = /^\/visit\//.test(path) ? householdNumber(path.slice("/visit/".length)) : null;
  var token = atCard ? decodeURIComponent(path.replace(/^\/c\//i, "")) : "";
  // A base32 token in any case is the upper-case one the pack hashed, as on the server.
  if (/^[A-Za-z2-7]{32}$/.test(token)) token = token.toUpperCase();
  var careLevels = JSON.parse(door.getAttribute("data-care-levels") || "{}");
  var frequencies = JSON.parse(door.getAttribute("data-frequencies") || "{}");

  // The digits of a typed number (full-width ones folded, spaces and dashes dropped), as on
  // the server; "" unless they are 8 with the right check digit (Luhn, as the cards print).
  function householdNumber(typedPath) {
    var digits = decodeURIComponent(typedPath).normalize("NFKC").replace(/[^0-9]/g, "");
    if (digits.length !== 8) return "";
    var sum = 0;
    for (var i = 0; i < 8; i++) {
      var d = Number(digits[7 - i]);
      if (i % 2 === 1) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
      sum += d;
    }
    return sum % 10 === 0 ? digits : "";
  }

  function text(root, selector, value) {
    root.querySelectorAll(selector).forEach(function (node) { node.textContent = value; });
  }

  // The placeholder's names for one elder: ``prefix`` "e<id>" (or "everyone").
  function rename(root, prefix, itemId) {
    ["name", "id", "for", "aria-describedby"].forEach(function (attr) {
      root.querySelectorAll("[" + attr + "]").forEach(function (node) {
        var value = node.getAttribute(attr).replace(/^e0-/, prefix + "-");
        if (itemId !== undefined) value = value.replace(/-qty-0$/, "-qty-" + itemId);
        node.setAttribute(attr, value);
      });
    });
  }

  function fillService(proto, elderId, service) {
    var label = proto.cloneNode(true);
    rename(label, "e" + elderId, service.id);
    var box = label.querySelector("input[type=checkbox]");
    box.value = service.id;
    box.checked = false;  // shown, never ticked: the all-done button or a tap chooses it
    label.classList.toggle("due", service.due);
    text(label, ".svc-name", service.name);
    text(label, ".svc-unit", service.unit);
    text(label, ".svc-freq", frequencies[service.frequency] || "");
    return label;
  }

  function fillElder(proto, elder) {
    var set = proto.cloneNode(true);
    set.querySelectorAll("label.service").forEach(function (l) { l.remove(); });
    rename(set, "e" + elder.id);
    fillFollowUps(set, elder);
    text(set, ".elder-name", elder.name);
    text(set, ".elder-born", [elder.gender, elder.birth_year || ""].join(" "));
    var level = set.querySelector(".level");
    level.textContent = careLevels[elder.care_level] || "";
    level.classList.add("level-" + elder.care_level);
    var tags = set.querySelector(".tags");
    elder.tags.forEach(function (t) {
      var span = document.createElement("span");
      span.className = "tag";
      span.textContent = t;
      tags.appendChild(span);
      tags.appendChild(document.createTextNode(" "));
    });
    var last = set.querySelector(".last-visit");
    last.textContent = elder.last_visit || last.getAttribute("data-none");
    var services = set.querySelector("fieldset.services");
    var serviceProto = proto.querySelector("label.service");
    if (services && elder.services.length) {
      var first = services.querySelector("button.all-done") || services.querySelector("legend");
      var after = first.nextSibling;
      elder.services.forEach(function (s) {
        services.insertBefore(fillService(serviceProto, elder.id, s), after);
      });
      var due = elder.services.some(function (s) { return s.due; });
      if (!due) services.querySelectorAll("button.all-done").forEach(function (b) { b.remove(); });
    } else if (services) {
      services.remove();
    }
    return set;
  }

  // The elder's open follow-ups from the pack (staff only): a box each, ticked when done.
  function fillFollowUps(set, elder) {
    var box = set.querySelector("fieldset.followups-open");
    var proto = box && box.querySelector("label.followup");
    if (!proto) return;
    (elder.followups || []).forEach(function (f) {
      var label = proto.cloneNode(true);
      label.querySelector("input").value = f.id;
      label.classList.toggle("important", f.important);
      text(label, ".fu-what", (f.important ? "★ " : "") + f.what);
      text(label, ".fu-day", f.due_on);
      box.appendChild(label);
    });
    proto.remove();
    box.hidden = !(elder.followups || []).length;
  }

  function newKey() {
    var bytes = new Uint8Array(18);
    crypto.getRandomValues(bytes);
    return btoa(String.fromCharCode.apply(null, bytes))
      .replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  // What the roster and the readings flag of the household change in the form.
  function fitForm(form, household) {
    var roster = household.roster;
    if (!roster) {
      form.parentNode.querySelectorAll(".roster-badge, .roster-minutes").forEach(function (n) {
        n.remove();
      });
    } else {
      text(door, ".roster-name", roster.name);
      text(door, ".roster-minutes-n", String(roster.minutes));
    }
    if (household.readings === false) {
      form.querySelectorAll(".readings").forEach(function (n) { n.remove(); });
      form.querySelectorAll(".notes-summary").forEach(function (n) {
        n.textContent = n.getAttribute("data-without-readings");
      });
    }
  }

  function ready() {
    door.setAttribute("data-ready", "");
    document.dispatchEvent(new Event("cv-door-ready"));
  }

  // The form of a household of the pack; ``manual``: reached by its typed number.
  function show(household, manual) {
    var form = document.getElementById("checkin");
    text(door, ".door-address", household.address);
    text(door, ".door-number", household.number);
    text(door, ".door-grid", household.grid);
    form.setAttribute("data-label", household.address);
    form.querySelector("input[name=idempotency_key]").value = newKey();
    fitForm(form, household);
    var proto = form.querySelector("fieldset.elder");
    household.elders.forEach(function (elder) {
      proto.parentNode.insertBefore(fillElder(proto, elder), proto);
    });
    proto.remove();
    opened(form, household.number, manual);
    form.querySelectorAll("fieldset.elder input").forEach(function (input) {
      if (input.checked) input.dispatchEvent(new Event("change", {bubbles: true}));
    });
    ready();
  }

  // What every form shown here shares: typed by hand or scanned, the way on after a save.
  function opened(form, number, manual) {
    door.querySelectorAll(".manual-only").forEach(function (node) {
      node.hidden = !manual;
      node.querySelectorAll("input").forEach(function (input) { input.disabled = !manual; });
    });
    door.querySelectorAll(".after-save .next-household").forEach(function (a) {
      a.setAttribute("href", a.getAttribute("href").replace(/#.*$/, "") + "#after-" + number);
    });
    door.hidden = false;
  }

  // A typed number the pack does not hold: one outcome and a note for everyone at the door,
  // the placeholder elder's own buttons and box renamed "everyone-…".
  function forEveryone(number) {
    var form = document.getElementById("checkin");
    var title = door.getAttribute("data-number-title").replace("{number}", number);
    text(door, ".door-address", title);
    text(door, ".typed-number", number);
    door.querySelectorAll(".everyone-note").forEach(function (n) { n.hidden = false; });
    door.querySelectorAll(".door-facts-line").forEach(function (n) { n.remove(); });
    form.setAttribute("data-label", title);
    form.querySelector("input[name=idempotency_key]").value = newKey();
    fitForm(form, {roster: null, readings: false});
    var set = form.querySelector("fieldset.elder");
    set.querySelectorAll(".door-facts, fieldset.services, .moods, .confirm-outcome")
      .forEach(function (n) { n.remove(); });
    set.querySelectorAll("details").forEach(function (d) {
      if (d.querySelector("[name$='-req-desc']")) d.remove();
    });
    set.querySelectorAll(".notes-summary").forEach(function (n) {
      n.textContent = n.getAttribute("data-notes-only");
    });
    rename(set, EVERYONE);
    text(set, ".elder-name", door.getAttribute("data-everyone"));
    text(set, ".elder-born", "");
    opened(form, number, true);
    var reason = form.querySelector("input[name=reason]");
    if (reason && !reason.value) reason.value = door.getAttribute("data-reason");
    ready();
  }

  // A card the pack does not hold, or a number that is none: the box for the card's number.
  function askNumber(noPack, badNumber) {
    unpacked.querySelector(".unpacked-card").hidden = badNumber;
    unpacked.querySelector(".bad-number").hidden = !badNumber;
    unpacked.querySelector(".offline-hint").hidden = !noPack;
    unpacked.hidden = false;
  }

  // Any other page: it needs the network (the round too, when none is kept for this account).
  function elsewhere() {
    var section = document.getElementById("offline-elsewhere");
    var round = section.querySelector(".back-to-round");
    var atRound = round && path === new URL(round.href).pathname;
    section.querySelector(".elsewhere-round").hidden = !atRound;
    section.querySelector(".elsewhere-page").hidden = atRound;
    if (atRound) round.parentNode.remove();
    document.title = section.querySelector("h1").textContent;
    section.hidden = false;
  }

  function hex(buffer) {
    var bytes = new Uint8Array(buffer);
    var out = "";
    for (var i = 0; i < bytes.length; i++) out += ("0" + bytes[i].toString(16)).slice(-2);
    return out;
  }

  function digest(value) {
    if (!window.crypto || !crypto.subtle || !window.TextEncoder) return Promise.reject();
    return crypto.subtle.digest("SHA-256", new TextEncoder().encode(value)).then(hex);
  }

  function lookUp(pack) {
    if (typed !== null) {
      var found = pack && pack.households.filter(function (h) { return h.number === typed; })[0];
      if (found) show(found, true);
      else forEveryone(typed);
      return;
    }
    if (!pack) { askNumber(true, false); return; }
    digest(token).then(function (key) {
      var card = pack.households.filter(function (h) { return h.key === key; })[0];
      if (card) show(card, false);
      else askNumber(false, false);
    }, function () { askNumber(false, false); });
  }

  if (!atCard && typed === null) { elsewhere(); return; }
  if (typed === "") { askNumber(false, true); return; }
  var req = indexedDB.open("carevisits", 1);
  req.onupgradeneeded = function () {
    req.result.createObjectStore("queue", {keyPath: "key"});
    req.result.createObjectStore("pack", {keyPath: "name"});
  };
  req.onerror = function () { lookUp(null); };
  req.onsuccess = function () {
    var get = req.result.transaction("pack").objectStore("pack").get("round");
    get.onerror = function () { lookUp(null); };
    get.onsuccess = function () {
      var pack = get.result && get.result.data;
      var user = document.body.getAttribute("data-user");
      var fresh = get.result && Date.now() - get.result.saved < PACK_DAYS * 86400000;
      lookUp(pack && fresh && String(pack.user) === user ? pack : null);
    };
  };
})();
