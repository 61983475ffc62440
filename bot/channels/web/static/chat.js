// The citizen chat page: sends questions to /api/chat, shows answers as bubbles with their buttons,
// 👍/👎 under answers about a service, 大字 for larger text. The conversation and a random user id
// live in sessionStorage only, so closing the window forgets them. No framework, no build step.
(function () {
  "use strict";

  var TEXT = {
    typing: "正在查找答案…",
    away: "连不上服务器，请检查网络后再发一次，您的问题还在输入框里。",
    failed: "刚才出了点问题没能回答，请稍后再发一次，您的问题还在输入框里。",
    slow: "您发得有点快，请稍等一会儿再发，您的问题还在输入框里。",
    pressFailed: "刚才没能打开这一项，请稍后再点一次。",
    rateFailed: "评价没有送出，请稍后再点一次。",
    helpful: "有帮助",
    unhelpful: "没帮助",
    rateLabel: "这个回答有帮助吗？"
  };
  var KEYS = { user: "legalbot.user", log: "legalbot.log", big: "legalbot.big" };
  var TIMEOUT_MS = 20000;

  var memory = {};  // when the browser refuses sessionStorage (storage blocked), the page still works
  function load(key) {
    try { return window.sessionStorage.getItem(key); } catch (e) { return memory[key] || null; }
  }
  function save(key, value) {
    try { window.sessionStorage.setItem(key, value); } catch (e) { memory[key] = value; }
  }

  function userId() {
    var id = load(KEYS.user);
    if (!id) {
      var bytes = new Uint8Array(16);
      window.crypto.getRandomValues(bytes);
      id = "web-" + Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
      save(KEYS.user, id);
    }
    return id;
  }

  var log = document.getElementById("log");
  var form = document.getElementById("ask");
  var box = document.getElementById("question");
  var typing = document.getElementById("typing");
  var bigSwitch = document.getElementById("big");
  var user = userId();
  var entries = [];
  var busy = false;

  if (/[?&]embed=1\b/.test(window.location.search)) document.documentElement.classList.add("embedded");

  function Failure(message) { this.message = message; }

  function call(method, path, body) {
    var controller = new AbortController();
    var timer = window.setTimeout(function () { controller.abort(); }, TIMEOUT_MS);
    var options = { method: method, cache: "no-store", credentials: "omit", signal: controller.signal };
    if (body) {
      options.headers = { "Content-Type": "application/json" };
      options.body = JSON.stringify(body);
    }
    return window.fetch(new URL(path, document.baseURI).href, options).then(function (response) {
      return response.json().catch(function () { return null; }).then(function (data) {
        if (response.status === 429) throw new Failure(TEXT.slow);
        if (!response.ok || !data) throw new Failure(TEXT.failed);
        return data;
      });
    }, function () {
      throw new Failure(TEXT.away);
    }).finally(function () { window.clearTimeout(timer); });
  }

  function persist() { save(KEYS.log, JSON.stringify(entries)); }

  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function choiceButtons(buttons, onPress) {
    var row = element("div", "choices");
    buttons.forEach(function (button) {
      var b = element("button", "", button.title);
      b.type = "button";
      b.addEventListener("click", function () { onPress(button); });
      row.appendChild(b);
    });
    return row;
  }

  function rating(entry) {
    var row = element("div", "rate");
    if (entry.rated) {
      row.appendChild(element("p", "thanks", entry.thanks));
      return row;
    }
    row.setAttribute("role", "group");
    row.setAttribute("aria-label", TEXT.rateLabel);
    [[true, "👍", TEXT.helpful], [false, "👎", TEXT.unhelpful]].forEach(function (vote) {
      var b = element("button", "", vote[1]);
      b.type = "button";
      b.setAttribute("aria-label", vote[2]);
      b.addEventListener("click", function () { rate(entry, vote[0], row); });
      row.appendChild(b);
    });
    return row;
  }

  function render(entry) {
    if (entry.who === "me") return element("div", "msg me", entry.text);
    var node = element("div", "msg bot");
    node.appendChild(element("p", "text", entry.text));
    if (entry.areas && entry.areas.length) {
      node.appendChild(choiceButtons(entry.areas, openArea));
    }
    if (entry.buttons && entry.buttons.length) {
      node.appendChild(choiceButtons(entry.buttons, press));
    }
    if (entry.rateable && entry.intent) node.appendChild(rating(entry));
    return node;
  }

  function show(node) {
    log.appendChild(node);
    // An answer is shown from its question down, so the two are read together.
    var before = node.previousElementSibling;
    var top = node.classList.contains("bot") && before && before.classList.contains("me") ? before : node;
    top.scrollIntoView({ block: "start" });
    return node;
  }

  function add(entry) {
    entries.push(entry);
    persist();
    return show(render(entry));
  }

  function showError(message) {
    var node = element("div", "msg error", message);
    node.setAttribute("role", "alert");
    show(node);
  }

  function fromReply(data) {
    return {
      who: "bot", text: data.reply, intent: data.intent, rateable: data.rateable === true,
      buttons: Array.isArray(data.buttons) ? data.buttons : []
    };
  }

  function waiting(on) {
    busy = on;
    typing.textContent = on ? TEXT.typing : "";
    log.setAttribute("aria-busy", on ? "true" : "false");
  }

  function ask() {
    var text = box.value.trim();
    if (busy || !text) return;
    var mine = add({ who: "me", text: text });
    waiting(true);
    call("POST", "api/chat", { user: user, text: text }).then(function (data) {
      box.value = "";
      add(fromReply(data));
    }, function (failure) {
      // The question stays in the box to be sent again, so it leaves the conversation.
      entries.pop();
      persist();
      log.removeChild(mine);
      showError(failure.message);
    }).finally(function () { waiting(false); });
  }

  function press(button) {
    if (busy) return;
    var mine = add({ who: "me", text: button.title });
    waiting(true);
    call("POST", "api/choose", { user: user, intent: button.intent }).then(function (data) {
      add(fromReply(data));
    }, function (failure) {
      entries.pop();
      persist();
      log.removeChild(mine);
      showError(failure.message === TEXT.away ? failure.message.replace(/，您的问题还在输入框里/, "") : TEXT.pressFailed);
    }).finally(function () { waiting(false); });
  }

  function openArea(area) {
    add({ who: "me", text: area.title });
    add({ who: "bot", text: area.text, buttons: area.buttons });
  }

  function rate(entry, helpful, row) {
    if (entry.rated || row.dataset.sending) return;
    row.dataset.sending = "1";
    Array.prototype.forEach.call(row.querySelectorAll("button"), function (b) { b.disabled = true; });
    call("POST", "api/feedback", { user: user, intent: entry.intent, helpful: helpful }).then(function (data) {
      entry.rated = helpful ? "up" : "down";
      entry.thanks = data.reply;
      persist();
      row.replaceWith(rating(entry));
    }, function () {
      delete row.dataset.sending;
      Array.prototype.forEach.call(row.querySelectorAll("button"), function (b) { b.disabled = false; });
      showError(TEXT.rateFailed);
    });
  }

  function setBig(on) {
    document.documentElement.classList.toggle("big", on);
    bigSwitch.setAttribute("aria-pressed", on ? "true" : "false");
    save(KEYS.big, on ? "1" : "");
  }

  function start() {
    setBig(load(KEYS.big) === "1");
    var kept = [];
    try { kept = JSON.parse(load(KEYS.log) || "[]"); } catch (e) { kept = []; }
    if (Array.isArray(kept) && kept.length) {
      entries = kept;
      entries.forEach(function (entry) { show(render(entry)); });
      return;
    }
    call("GET", "api/menu").then(function (menu) {
      add({ who: "bot", text: menu.welcome, areas: menu.areas });
    }, function (failure) { showError(failure.message.replace(/，您的问题还在输入框里/, "")); });
  }

  bigSwitch.addEventListener("click", function () {
    setBig(bigSwitch.getAttribute("aria-pressed") !== "true");
  });
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    ask();
  });
  box.addEventListener("keydown", function (event) {
    // Enter sends; Shift+Enter starts a new line; Enter that picks a word in a pinyin IME does neither.
    if (event.key !== "Enter" || event.shiftKey || event.isComposing || event.keyCode === 229) return;
    event.preventDefault();
    ask();
  });
  start();
})();
