// The chat as a floating box on another site of the county: one line on any page,
//   <script src="https://BOT-ADDRESS/embed.js" defer></script>
// adds a 法律咨询 button that opens the chat page of BOT-ADDRESS in a frame. That site must be
// listed in the bot's LEGALBOT_WEB_ORIGINS, or the browser refuses the frame.
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || document.getElementById("legalbot-open")) return;
  var page = new URL("/?embed=1", script.src).href;

  var open = document.createElement("button");
  open.type = "button";
  open.id = "legalbot-open";
  open.textContent = "法律咨询";
  open.setAttribute("aria-expanded", "false");
  open.setAttribute("aria-controls", "legalbot-box");
  var panel = document.createElement("div");
  panel.id = "legalbot-box";
  panel.hidden = true;
  var frame = document.createElement("iframe");
  frame.title = "江山市法律服务问答";
  frame.setAttribute("referrerpolicy", "no-referrer");

  function style(node, rules) { Object.keys(rules).forEach(function (k) { node.style[k] = rules[k]; }); }
  style(open, {
    position: "fixed", right: "16px", bottom: "16px", zIndex: "2147483000", padding: "12px 18px",
    font: "600 18px/1.2 system-ui, sans-serif", color: "#fff", background: "#0b5394", border: "0",
    borderRadius: "24px", boxShadow: "0 2px 8px rgba(0,0,0,.3)", cursor: "pointer"
  });
  style(panel, {
    position: "fixed", right: "8px", bottom: "76px", zIndex: "2147483000",
    width: "min(400px, calc(100vw - 16px))", height: "min(640px, calc(100vh - 92px))",
    background: "#fff", border: "1px solid #9aa5b1", borderRadius: "12px", overflow: "hidden",
    boxShadow: "0 4px 16px rgba(0,0,0,.25)"
  });
  style(frame, { width: "100%", height: "100%", border: "0", display: "block" });

  function toggle(show) {
    if (show && !frame.src) frame.src = page;  // the chat loads when first opened
    panel.hidden = !show;
    open.setAttribute("aria-expanded", show ? "true" : "false");
    open.textContent = show ? "关闭咨询" : "法律咨询";
    if (show) frame.focus();
  }
  open.addEventListener("click", function () { toggle(panel.hidden); });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && !panel.hidden) { toggle(false); open.focus(); }
  });
  panel.appendChild(frame);
  document.body.appendChild(panel);
  document.body.appendChild(open);
})();
