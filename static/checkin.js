// The check-in form: stamp the phone's clock, stop a second tap from sending twice, and
// keep the form's idempotency key when the worker comes back to it with the Back button
// (the server hands out a fresh key on every load, but Back + Save is the same visit).
(function () {
  var form = document.getElementById("checkin");
  if (!form) return;
  var keyField = form.querySelector("input[name=idempotency_key]");
  var storageKey = "checkin-key:" + location.pathname;
  var nav = performance.getEntriesByType && performance.getEntriesByType("navigation")[0];
  try {
    var kept = sessionStorage.getItem(storageKey);
    if (kept && nav && nav.type === "back_forward") keyField.value = kept;
  } catch (e) { /* storage blocked: the server-made key still guards resends */ }

  form.addEventListener("submit", function () {
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
