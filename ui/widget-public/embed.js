// Switchboard's customer widget on any page: <script src="https://HOST/widget/embed.js"
// data-business="billing" async></script>. Adds a "Contact us" button that opens the widget
// in a frame allowed to use the camera, microphone and screen capture.
(function () {
  var me = document.currentScript;
  if (!me) return;
  var base = new URL(".", me.src);
  var q = new URLSearchParams();
  ["business", "media", "call", "name"].forEach(function (k) {
    var v = me.getAttribute("data-" + k);
    if (v) q.set(k, v);
  });
  var button = document.createElement("button");
  button.textContent = me.getAttribute("data-label") || "Contact us";
  button.setAttribute("data-switchboard", "open");
  button.style.cssText =
    "position:fixed;right:20px;bottom:20px;z-index:2147483000;padding:10px 16px;border:0;" +
    "border-radius:20px;background:#2563eb;color:#fff;font:600 14px system-ui;cursor:pointer";
  var label = button.textContent;
  var frame = null;
  // The button hides and shows the frame: removing it would end a call in progress.
  button.onclick = function () {
    if (frame) {
      var shown = frame.style.display !== "none";
      frame.style.display = shown ? "none" : "block";
      button.textContent = shown ? label : "–";
      return;
    }
    button.textContent = "–";
    frame = document.createElement("iframe");
    frame.src = new URL("?" + q.toString(), base).toString();
    frame.allow = "camera; microphone; display-capture; autoplay";
    frame.title = "Switchboard";
    frame.style.cssText =
      "position:fixed;right:20px;bottom:70px;width:380px;height:560px;max-height:80vh;" +
      "border:1px solid #ccc;border-radius:10px;z-index:2147483000;background:#fff";
    document.body.appendChild(frame);
  };
  // In <head> without async/defer there is no body yet.
  if (document.body) document.body.appendChild(button);
  else
    document.addEventListener("DOMContentLoaded", function () {
      document.body.appendChild(button);
    });
})();
