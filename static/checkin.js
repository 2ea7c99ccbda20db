// Stamp the phone's clock on the check-in and stop a second tap from sending twice.
// (A resend after a dropped connection reuses the form's idempotency key, so it is safe.)
(function () {
  var form = document.getElementById("checkin");
  if (!form) return;
  form.addEventListener("submit", function () {
    var clock = form.querySelector("input[name=client_time]");
    if (clock) clock.value = new Date().toISOString();
    var button = form.querySelector("button[type=submit]");
    if (button) {
      button.disabled = true;
      setTimeout(function () { button.disabled = false; }, 8000);
    }
  });
})();
