// Loaded before textual.js.
(function () {
  "use strict";
  // Story text is inert: textual.js's terminal turns any web address on screen into a link that
  // a click opens (window.open), and its "open_url" and file messages use window.open too.
  // The player needs none of them (the server refuses them as well).
  window.open = function () { return null; };
  // Show why the server closed the connection (full, another tab, a long pause...). The reason
  // is plain text from our server, put in with textContent: never parsed as HTML.
  const Native = window.WebSocket;
  function Wrapped(url, protocols) {
    const ws = protocols === undefined ? new Native(url) : new Native(url, protocols);
    ws.addEventListener("close", function (event) {
      const box = document.getElementById("closed-message");
      if (box && event.reason) box.textContent = event.reason;
    });
    return ws;
  }
  Wrapped.prototype = Native.prototype;
  for (const k of ["CONNECTING", "OPEN", "CLOSING", "CLOSED"]) Wrapped[k] = Native[k];
  window.WebSocket = Wrapped;
  document.addEventListener("DOMContentLoaded", function () {
    const button = document.getElementById("restart");
    if (button) button.addEventListener("click", function () { window.location.assign("/"); });
  });
})();
