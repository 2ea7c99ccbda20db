// The check-in form: stamp the phone's clock, stop a second tap from sending twice, and
// keep the form's idempotency key when the worker comes back to it with the Back button
// (the server hands out a fresh key on every load, but Back + Save is the same visit).
// Saving sends the form in the background (static/queue.js): a visit that cannot reach the
// server in a few seconds is kept on the phone and sent when the network is back; a form
// the server refuses is sent again the ordinary way, so that it comes back with each
// problem marked at its box. Before that, what the phone can check is checked here (an
// outcome for every elder, each box's own limits) and marked at the box, so that no visit
// is kept that the server would refuse for it.
// Per elder: services, readings and mood follow the outcome (hidden and not sent for an
// elder who was not met; the server refuses them too, at the box); readings outside the
// alert thresholds (data-normal, from the server) are flagged as they are typed, and a
// "met, all well" with such readings is confirmed or changed before the form is sent; a blood
// pressure at or above a crisis line (data-crisis) shows what to ask and when to call 120.
(function () {
  var form = document.getElementById("checkin");
  if (!form) return;
  var MET = ["met_well", "met_concern"];
  var READINGS = ["systolic", "diastolic", "pulse"];
  var normal = {};
  try { normal = JSON.parse(form.getAttribute("data-normal") || "{}"); } catch (e) { /* none */ }
  var crisisLines = {};  // a blood pressure at or above either: the crisis advice is shown
  try { crisisLines = JSON.parse(form.getAttribute("data-crisis") || "{}"); } catch (e) { /* none */ }
  var keyField = form.querySelector("input[name=idempotency_key]");
  var storageKey = "checkin-key:" + location.pathname;
  var nav = performance.getEntriesByType && performance.getEntriesByType("navigation")[0];
  try {
    var kept = sessionStorage.getItem(storageKey);
    if (kept && nav && nav.type === "back_forward") keyField.value = kept;
  } catch (e) { /* storage blocked: the server-made key still guards resends */ }

  function elders() { return form.querySelectorAll("fieldset.elder"); }

  function outcomeOf(elder) {
    var chosen = elder.querySelector("input[name$='-outcome']:checked");
    return chosen ? chosen.value : "";
  }

  function abnormal(elder) {
    var out = [];
    READINGS.forEach(function (name) {
      var input = elder.querySelector("input[name$='-" + name + "']");
      if (!input || !normal[name]) return;
      var v = input.value.trim();
      var bad = !input.disabled && /^[0-9]+$/.test(v) &&
        (Number(v) < normal[name][0] || Number(v) > normal[name][1]);
      input.classList.toggle("abnormal", bad);
      if (bad) out.push(name);
    });
    return out;
  }

  function crisis(elder) {
    return Object.keys(crisisLines).some(function (name) {
      var input = elder.querySelector("input[name$='-" + name + "']");
      var v = input ? input.value.trim() : "";
      return !!input && !input.disabled && /^[0-9]+$/.test(v) && Number(v) >= crisisLines[name];
    });
  }

  function needsConfirming(elder) {
    return outcomeOf(elder) === "met_well" && abnormal(elder).length > 0 &&
      !elder.hasAttribute("data-confirmed");
  }

  // Show what belongs to the outcome chosen, and the warning the readings call for.
  function follow(elder) {
    var outcome = outcomeOf(elder);
    var away = outcome !== "" && MET.indexOf(outcome) < 0;
    elder.querySelectorAll(".met-only").forEach(function (part) {
      part.hidden = away;
      part.querySelectorAll("input, select, textarea").forEach(function (i) { i.disabled = away; });
    });
    var flag = elder.querySelector(".reading-flag");
    if (flag) flag.hidden = abnormal(elder).length === 0;
    var advice = elder.querySelector(".crisis-advice");
    if (advice) advice.hidden = !crisis(elder);
    var ask = elder.querySelector(".confirm-outcome");
    if (ask && !needsConfirming(elder)) ask.hidden = true;
  }

  elders().forEach(follow);
  form.addEventListener("change", function (event) {
    var elder = event.target.closest("fieldset.elder");
    if (elder) follow(elder);
  });
  form.addEventListener("input", function (event) {
    var elder = event.target.closest("fieldset.elder");
    if (!elder) return;
    elder.removeAttribute("data-confirmed");  // new numbers: ask again
    follow(elder);
  });

  // 应做服务已全部完成: tick every service due for this elder (nothing is ticked before; each
  // box can still be unticked). Services not due stay as they are.
  form.addEventListener("click", function (event) {
    var allDone = event.target.closest("button.all-done");
    if (!allDone) return;
    var services = allDone.closest("fieldset.services");
    services.querySelectorAll("label.service.due input[type=checkbox]").forEach(function (box) {
      box.checked = true;
    });
    follow(allDone.closest("fieldset.elder"));
  });

  form.addEventListener("click", function (event) {
    var button = event.target.closest(".confirm-outcome button");
    if (!button) return;
    var elder = button.closest("fieldset.elder");
    var change = button.getAttribute("data-outcome");
    if (change) {
      var radio = elder.querySelector("input[name$='-outcome'][value='" + change + "']");
      if (radio) radio.checked = true;
      follow(elder);
      return;  // the worker may add a note before saving
    }
    elder.setAttribute("data-confirmed", "");
    follow(elder);
    form.querySelector("button[type=submit]").click();
  });

  // What the phone can check before a visit is sent or kept: an outcome for every elder and
  // each box's own constraints, marked at the box as the server marks them.
  var texts = form.dataset;  // the form's own texts, in the page's language
  var queueTexts = (document.getElementById("queue-texts") || {dataset: {}}).dataset;
  var FULL_WIDTH = /[\uff10-\uff19]/g;

  function mark(box, message, at) {
    box.classList.add("has-error");
    box.setAttribute("data-phone-error", "");
    var p = document.createElement("p");
    p.className = "error phone-check";
    p.setAttribute("role", "alert");
    p.textContent = message;
    if (at) box.insertBefore(p, at.nextSibling); else box.appendChild(p);
    var details = box.closest("details");
    if (details) details.open = true;
  }

  // What is wrong with a box, in the page's language where the page says it.
  function message(input) {
    var v = input.validity;
    if ((v.rangeUnderflow || v.rangeOverflow) && texts.range && input.min && input.max) {
      return texts.range.replace("{min}", input.min).replace("{max}", input.max);
    }
    if ((v.patternMismatch || v.badInput || v.stepMismatch) && texts.wholeNumber &&
        input.getAttribute("inputmode") === "numeric") return texts.wholeNumber;
    return input.validationMessage;
  }

  function problems() {
    form.querySelectorAll(".phone-check").forEach(function (p) { p.remove(); });
    form.parentNode.querySelectorAll(".phone-check-all").forEach(function (p) { p.remove(); });
    form.querySelectorAll("[data-phone-error]").forEach(function (box) {
      box.classList.remove("has-error");
      box.removeAttribute("data-phone-error");
    });
    var first = null;
    elders().forEach(function (elder) {
      if (outcomeOf(elder)) return;
      var choices = elder.querySelector("fieldset.outcomes") ||
        elder.querySelector("input[name$='-outcome']").closest("fieldset");
      mark(choices, texts.choose || "");
      first = first || choices;
    });
    form.querySelectorAll("input, textarea, select").forEach(function (input) {
      if (input.disabled || input.type === "radio" || input.type === "checkbox" ||
          input.type === "hidden") return;
      if (input.pattern && FULL_WIDTH.test(input.value)) {  // the server reads these as digits
        input.value = input.value.replace(FULL_WIDTH, function (d) {
          return String.fromCharCode(d.charCodeAt(0) - 0xfee0);
        });
      }
      FULL_WIDTH.lastIndex = 0;
      if (input.checkValidity()) return;
      var box = input.closest(".field") || input.parentNode;
      mark(box, message(input), box.classList.contains("field") ? null : input);
      first = first || box;
    });
    if (first) {
      var all = document.createElement("p");
      all.className = "flash error phone-check-all";
      all.setAttribute("role", "alert");
      all.textContent = texts.invalid || "";
      form.parentNode.insertBefore(all, form);
      first.scrollIntoView({block: "center"});
    }
    return !!first;
  }
  form.addEventListener("invalid", function (event) { event.preventDefault(); }, true);

  // Each elder's name and outcome as the page shows them, for a visit the server refuses.
  function summary() {
    var out = [];
    elders().forEach(function (elder) {
      var name = elder.querySelector(".elder-name");
      var chosen = elder.querySelector("input[name$='-outcome']:checked");
      var label = chosen && chosen.parentNode.querySelector("span");
      out.push((name ? name.textContent : "") + ": " + (label ? label.textContent : ""));
    });
    return out.join("；");
  }

  // "Open the form again" on a refused visit (static/queue.js): its values, filled in here.
  var restoreKey = null;
  try { restoreKey = sessionStorage.getItem("checkin-restore:" + location.pathname); } catch (e) { /* none */ }
  var SKIP = ["csrf_token", "idempotency_key", "client_time", "queued", "queued_age"];

  function restore(body) {
    var params = new URLSearchParams(body);
    Array.prototype.forEach.call(form.elements, function (input) {
      if (!input.name || SKIP.indexOf(input.name) >= 0 || input.type === "hidden") return;
      var values = params.getAll(input.name);
      if (input.type === "radio" || input.type === "checkbox") {
        input.checked = values.indexOf(input.value) >= 0;
      } else if (values.length) {
        input.value = values[0];
        var details = input.closest("details");
        if (details && values[0]) details.open = true;
      }
    });
    elders().forEach(follow);
  }

  function whenFilled(then) {  // the form without signal is filled from the pack first
    var door = document.getElementById("offline-door");
    if (!door || door.hasAttribute("data-ready")) then();
    else document.addEventListener("cv-door-ready", then);
  }

  if (restoreKey && window.cvQueue) {
    whenFilled(function () {
      window.cvQueue.get(restoreKey).then(function (item) {
        var me = document.body.getAttribute("data-user") || "";
        if (item && item.user === me && item.url === location.pathname) restore(item.body);
        else forgetRestore();
      }, function () {});
    });
  }

  function forgetRestore() {
    try { sessionStorage.removeItem("checkin-restore:" + location.pathname); } catch (e) { /* none */ }
  }

  function restored() {  // the visit the server refused is replaced by this one
    if (!restoreKey) return Promise.resolve();
    forgetRestore();
    return window.cvQueue.remove(restoreKey).catch(function () {});
  }

  form.addEventListener("submit", function (event) {
    var queued = window.cvQueue && window.URLSearchParams && !form.hasAttribute("data-native");
    var button = form.querySelector("button[type=submit]");
    if (queued && problems()) {
      event.preventDefault();
      if (button) button.disabled = false;
      return;
    }
    var list = elders();
    for (var i = 0; i < list.length; i++) {
      if (needsConfirming(list[i])) {
        event.preventDefault();
        var ask = list[i].querySelector(".confirm-outcome");
        ask.hidden = false;
        ask.scrollIntoView({block: "center"});
        return;
      }
    }
    var clock = form.querySelector("input[name=client_time]");
    if (clock) clock.value = new Date().toISOString();
    try { sessionStorage.setItem(storageKey, keyField.value); } catch (e) { /* ignore */ }
    if (button) {
      button.disabled = true;
      setTimeout(function () { button.disabled = false; }, 8000);
    }
    if (!queued) return;
    event.preventDefault();
    var label = form.getAttribute("data-label") || document.title;

    function body() { return new URLSearchParams(new FormData(form)).toString(); }

    function kept(signIn) {
      var sending = body();
      return window.cvQueue.keep(location.pathname, sending, label, summary()).then(function () {
        form.hidden = true;
        var note = document.createElement("p");
        note.className = "flash warn saved-offline";
        note.setAttribute("role", "status");
        note.setAttribute("data-key", keyField.value);
        note.textContent = queueTexts.saved;
        form.parentNode.insertBefore(note, form);
        // On with the round: 下一户 and 返回巡访, as on the page of a visit sent.
        form.parentNode.querySelectorAll(".after-save").forEach(function (p) { p.hidden = false; });
        var waits = document.getElementById("queue-door");
        if (waits) waits.remove();
        restored();
        window.cvQueue.render();
        if (signIn) window.cvQueue.needSignIn();
      }, function () {  // no storage on this phone: the ordinary send is all there is
        form.setAttribute("data-native", "");
        form.submit();
      });
    }

    function attempt(retried) {
      window.cvQueue.post(location.pathname, body(), null, 5000).then(function (r) {
        if (r.data.ok) { restored().then(function () { location.assign(r.data.url); }); return; }
        if (r.status === 401 || r.data.signin) { kept(true); return; }
        if (r.status === 400 && r.data.retry && !retried) {  // a stale token: a fresh one
          window.cvQueue.session().then(function (a) {
            if (a.status !== 200 || !a.data.csrf) { kept(a.status === 401); return; }
            form.querySelector("input[name=csrf_token]").value = a.data.csrf;
            attempt(true);
          }, function () { kept(false); });
          return;
        }
        if (r.status >= 500 || r.status === 429) { kept(false); return; }
        form.setAttribute("data-native", "");  // refused: the page marks what is wrong
        form.submit();
      }, function () { kept(false); });
    }

    // A visit to this door already waiting on the phone: a second one only when asked for.
    window.cvQueue.waitingAt(location.pathname).then(function (waiting) {
      if (waiting.length && !window.confirm(texts.confirmSecond)) {
        if (button) button.disabled = false;
        return;
      }
      attempt(false);
    }, function () { attempt(false); });
  });
})();
