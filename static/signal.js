// 无网络 at the top of a signed-in user's page while the phone has no signal, and of every
// page the service worker answered from the phone (static/sw.js marks it <body
// data-offline>; the round's mark is when it was kept), until the network is back.
(function () {
  var bar = document.getElementById("no-signal");
  if (!bar) return;
  var fromPhone = document.body.getAttribute("data-offline");
  if (fromPhone && bar.getAttribute("data-kept")) {
    var at = new Date(Number(fromPhone));
    bar.textContent = bar.getAttribute("data-kept").replace(
      "{time}", ("0" + at.getHours()).slice(-2) + ":" + ("0" + at.getMinutes()).slice(-2));
  }

  function show() { bar.hidden = navigator.onLine !== false && fromPhone === null; }

  show();
  window.addEventListener("offline", show);
  window.addEventListener("online", function () {
    fromPhone = null;
    show();
  });
})();
