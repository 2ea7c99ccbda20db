// The check-in form without signal: the service worker showed /door/offline at a door URL;
// fill it from the round pack kept on the phone (IndexedDB) — address, elders, tags, care
// level, last visit, services due, the volunteer's roster and whether readings are taken —
// by copying the form's placeholder elder ("e0-…") and service for each one, so the form is
// the server's own template. The pack names each household by the SHA-256 of its door
// token (never the token): the token of this URL is hashed to find it. A card not in the
// pack gets the neutral page's words, as anyone would; with no fresh pack at all, the
// neutral page also says how to get one.
(function () {
  var door = document.getElementById("offline-door");
  var neutral = document.getElementById("offline-neutral");
  if (!door || !window.indexedDB) return;
  var PACK_DAYS = 3;  // an older pack is not shown (the round page replaces it when online)
  var token = decodeURIComponent(location.pathname.replace(/^\/c\//i, ""));
  // A base32 token in any case is the upper-case one the pack hashed, as on the server.
  if (/^[A-Za-z2-7]{32}$/.test(token)) token = token.toUpperCase();
  var T = (document.getElementById("queue-texts") || {dataset: {}}).dataset;
  var careLevels = JSON.parse(door.getAttribute("data-care-levels") || "{}");
  var frequencies = JSON.parse(door.getAttribute("data-frequencies") || "{}");

  function text(root, selector, value) {
    root.querySelectorAll(selector).forEach(function (node) { node.textContent = value; });
  }

  function rename(root, elderId, itemId) {
    ["name", "id", "for", "aria-describedby"].forEach(function (attr) {
      root.querySelectorAll("[" + attr + "]").forEach(function (node) {
        var value = node.getAttribute(attr).replace(/^e0-/, "e" + elderId + "-");
        if (itemId !== undefined) value = value.replace(/-qty-0$/, "-qty-" + itemId);
        node.setAttribute(attr, value);
      });
    });
  }

  function fillService(proto, elderId, service) {
    var label = proto.cloneNode(true);
    rename(label, elderId, service.id);
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
    rename(set, elder.id);
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

  // ``household`` null: not in the pack; ``hint``: there is no fresh pack to look in.
  function show(household, hint) {
    if (!household) {
      if (hint && T.noPack && !neutral.querySelector(".offline-hint")) {
        var p = document.createElement("p");
        p.className = "offline-hint";
        p.textContent = T.noPack;
        neutral.appendChild(p);
      }
      neutral.hidden = false;
      return;
    }
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
    door.hidden = false;
    form.querySelectorAll("fieldset.elder input").forEach(function (input) {
      if (input.checked) input.dispatchEvent(new Event("change", {bubbles: true}));
    });
    ready();
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
    digest(token).then(function (key) {
      var found = null;
      pack.households.forEach(function (h) { if (h.key === key) found = h; });
      show(found, false);
    }, function () { show(null, false); });
  }

  var req = indexedDB.open("carevisits", 1);
  req.onupgradeneeded = function () {
    req.result.createObjectStore("queue", {keyPath: "key"});
    req.result.createObjectStore("pack", {keyPath: "name"});
  };
  req.onerror = function () { show(null, true); };
  req.onsuccess = function () {
    var get = req.result.transaction("pack").objectStore("pack").get("round");
    get.onerror = function () { show(null, true); };
    get.onsuccess = function () {
      var pack = get.result && get.result.data;
      var user = document.body.getAttribute("data-user");
      var fresh = get.result && Date.now() - get.result.saved < PACK_DAYS * 86400000;
      if (pack && fresh && String(pack.user) === user) lookUp(pack);
      else show(null, true);
    };
  };
})();
