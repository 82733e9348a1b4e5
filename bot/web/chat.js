// The local chat page: one conversation per browser, kept in localStorage.
"use strict";
(function () {
  var USER_KEY = "yb-user";
  var HISTORY_KEY = "yb-history";
  var MAX_HISTORY = 60;

  var log = document.getElementById("log");
  var quick = document.getElementById("quick");
  var form = document.getElementById("composer");
  var input = document.getElementById("input");
  var send = document.getElementById("send");
  // A token for public deployments travels in the page's URL (?token=...), never in the code.
  var token = new URLSearchParams(window.location.search).get("token") || "";
  var busy = false;

  function randomId() {
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) {
      return ("0" + b.toString(16)).slice(-2);
    }).join("");
  }

  function userId() {
    var id = localStorage.getItem(USER_KEY);
    if (!id || !/^[A-Za-z0-9_-]{8,64}$/.test(id)) {
      id = randomId();
      localStorage.setItem(USER_KEY, id);
    }
    return id;
  }

  function loadHistory() {
    try {
      var items = JSON.parse(localStorage.getItem(HISTORY_KEY) || "[]");
      return Array.isArray(items) ? items : [];
    } catch (e) {
      return [];
    }
  }

  function remember(role, text) {
    var items = loadHistory();
    items.push({ role: role, text: text });
    localStorage.setItem(HISTORY_KEY, JSON.stringify(items.slice(-MAX_HISTORY)));
  }

  // textContent only: replies are never interpreted as HTML.
  function bubble(role, text, first) {
    var row = document.createElement("div");
    row.className = "msg " + role;
    var avatar = document.createElement("div");
    avatar.className = "avatar";
    avatar.textContent = role === "user" ? "我" : "保";
    var body = document.createElement("div");
    body.className = "bubble";
    body.textContent = text;
    row.appendChild(avatar);
    row.appendChild(body);
    if (first) {
      log.insertBefore(row, log.firstChild);
    } else {
      log.appendChild(row);
      log.scrollTop = log.scrollHeight;
    }
    return row;
  }

  function note(text) {
    var row = document.createElement("div");
    row.className = "note";
    var span = document.createElement("span");
    span.textContent = text;
    row.appendChild(span);
    log.appendChild(row);
    log.scrollTop = log.scrollHeight;
  }

  function setBusy(value) {
    busy = value;
    send.disabled = value;
  }

  function ask(payload, shown) {
    if (busy) return;
    setBusy(true);
    bubble("user", shown);
    remember("user", shown);
    var typing = bubble("bot typing", "对方正在输入…");
    var headers = { "Content-Type": "application/json" };
    if (token) headers["X-Chat-Token"] = token;
    payload.user = userId();
    fetch("/api/chat", { method: "POST", headers: headers, body: JSON.stringify(payload) })
      .then(function (resp) {
        return resp.json().then(function (data) { return { ok: resp.ok, data: data }; });
      })
      .then(function (result) {
        typing.remove();
        if (!result.ok || typeof result.data.reply !== "string") {
          note("发送失败：" + (result.data.error || "请稍后再试"));
          return;
        }
        if (payload.key === "RESET") {
          localStorage.setItem(HISTORY_KEY, "[]");
          while (log.children.length > 1) log.removeChild(log.lastChild);  // keep the welcome
        }
        bubble("bot", result.data.reply);
        remember("bot", result.data.reply);
      })
      .catch(function () {
        typing.remove();
        note("网络错误，请稍后再试");
      })
      .then(function () {
        setBusy(false);
        input.focus();
      });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value.trim();
    if (!text || busy) return;
    input.value = "";
    ask({ text: text }, text);
  });

  function showMenu(items) {
    items.forEach(function (item) {
      var button = document.createElement("button");
      button.type = "button";
      button.textContent = item.label;
      button.dataset.key = item.key;
      button.addEventListener("click", function () {
        ask({ key: item.key }, item.label);
      });
      quick.appendChild(button);
    });
  }

  var history = loadHistory();
  history.forEach(function (item) {
    bubble(item.role === "user" ? "user" : "bot", String(item.text));
  });
  fetch("/api/menu")
    .then(function (resp) { return resp.json(); })
    .then(function (data) {
      showMenu(data.items || []);
      // The welcome heads every conversation; it is not part of the stored history.
      if (data.welcome) bubble("bot", data.welcome, true);
    })
    .catch(function () { note("菜单加载失败"); });
  input.focus();
})();
