// Live updates: the server says "changed" when the back office changes; list pages refresh,
// detail pages show a notice (so a form being filled in is never thrown away), and so do list
// pages while someone types or while they show the outcome of what was just done.
(function () {
  var el = document.getElementById("live");
  if (!el || !window.WebSocket) return;
  var version = null;
  function connect() {
    var ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/desk/ws");
    ws.onopen = function () { el.textContent = "● 实时"; };
    ws.onclose = function () { el.textContent = "○ 重连中"; setTimeout(connect, 3000); };
    ws.onmessage = function (ev) {
      var msg = JSON.parse(ev.data);
      if (version === null) { version = msg.version; return; }
      if (msg.version <= version) return;
      version = msg.version;
      if (document.body.dataset.live === "conversation") { refreshConversation(); return; }
      if (document.body.dataset.live === "list") {
        var typing = document.activeElement && /INPUT|TEXTAREA|SELECT/.test(document.activeElement.tagName);
        // a reload would wipe the outcome of what was just done before it is read
        var told = document.querySelector(".flash:not([hidden])");
        if (!typing && !told) { location.reload(); return; }
      }
      var note = document.getElementById("changed");
      if (note) note.hidden = false;
    };
  }
  // a conversation page takes the new transcript, state and customer from a fresh copy of
  // itself, leaving the reply being typed alone
  function refreshConversation() {
    fetch(location.pathname, {credentials: "same-origin"}).then(function (r) { return r.text(); })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html");
        ["transcript", "state", "agent", "customer", "summary"].forEach(function (id) {
          var now = document.getElementById(id), next = fresh.getElementById(id);
          if (now && next) now.innerHTML = next.innerHTML;
        });
        toEnd();
      });
  }
  function toEnd() {  // the newest lines of a transcript in view
    var t = document.getElementById("transcript");
    if (t) t.scrollTop = t.scrollHeight;
  }
  toEnd();
  connect();
})();
