// The check-in form: stamp the phone's clock, stop a second tap from sending twice, and
// keep the form's idempotency key when the worker comes back to it with the Back button
// (the server hands out a fresh key on every load, but Back + Save is the same visit).
// Per elder: services, readings and mood follow the outcome (hidden and not sent for an
// elder who was not met; the server refuses them too, at the box); readings outside the
// alert thresholds (data-normal, from the server) are flagged as they are typed, and a
// "met, all well" with such readings is confirmed or changed before the form is sent.
(function () {
  var form = document.getElementById("checkin");
  if (!form) return;
  var MET = ["met_well", "met_concern"];
  var READINGS = ["systolic", "diastolic", "pulse"];
  var normal = {};
  try { normal = JSON.parse(form.getAttribute("data-normal") || "{}"); } catch (e) { /* none */ }
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

  form.addEventListener("submit", function (event) {
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
    var button = form.querySelector("button[type=submit]");
    if (button) {
      button.disabled = true;
      setTimeout(function () { button.disabled = false; }, 8000);
    }
  });
})();
