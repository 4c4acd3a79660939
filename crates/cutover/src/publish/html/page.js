// The divergence list of a cutover report: filters (operation, class, path pattern and
// everything under it, key exact or `prefix*`) and pages, kept in the address's fragment.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("cutover-data").textContent);
  var state = { op: "", cls: "", path: "", key: "", page: 1 };
  function el(id) { return document.getElementById(id); }
  function esc(s) {
    return String(s).replace(/[&<>"]/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" }[c];
    });
  }
  function starts(s, prefix) { return s.lastIndexOf(prefix, 0) === 0; }
  // A pattern is under a filter when it is the filter or goes on from it with . or [.
  function under(pattern, filter) {
    if (!filter || pattern === filter) return true;
    if (!starts(pattern, filter)) return false;
    var next = pattern.charAt(filter.length);
    return next === "." || next === "[";
  }
  function keyMatches(key, want) {
    if (!want) return true;
    if (key === null) return want === "(none)";
    if (want.charAt(want.length - 1) === "*") return starts(key, want.slice(0, -1));
    return key === want;
  }
  function read() {
    var p = new URLSearchParams(location.hash.slice(1));
    state.op = p.get("op") || "";
    state.cls = p.get("class") || "";
    state.path = p.get("path") || "";
    state.key = p.get("key") || "";
    state.page = Math.max(1, parseInt(p.get("page") || "1", 10) || 1);
  }
  function write() {
    var p = new URLSearchParams();
    if (state.op) p.set("op", state.op);
    if (state.cls) p.set("class", state.cls);
    if (state.path) p.set("path", state.path);
    if (state.key) p.set("key", state.key);
    if (state.page > 1) p.set("page", String(state.page));
    var h = p.toString();
    history.replaceState(null, "", h ? "#" + h : location.pathname + location.search);
  }
  function matching() {
    var out = [];
    for (var i = 0; i < data.items.length; i++) {
      var item = data.items[i], request = data.requests[item[0]];
      if (state.op && request[2] !== state.op) continue;
      if (state.cls && item[3] !== state.cls) continue;
      if (!under(data.patterns[item[2]], state.path)) continue;
      if (!keyMatches(request[1], state.key)) continue;
      out.push(item);
    }
    return out;
  }
  // A side's pieces: plain and marked in turn.
  function pieces(side) {
    var text = "";
    for (var i = 0; i < side.length; i++) {
      text += i % 2 ? "<mark>" + esc(side[i]) + "</mark>" : esc(side[i]);
    }
    return text;
  }
  function cell(side, cls) {
    return side === null ? "<td class=\"blank\"></td>" :
      "<td class=\"" + cls + "\"><pre>" + pieces(side) + "</pre></td>";
  }
  // The two sides in two columns, as the page writes them without its list.
  function sides(rows, more) {
    var html = "<table class=\"side-by-side\"><tr><th>legacy</th><th>candidate</th></tr>";
    for (var i = 0; i < rows.length; i++) {
      var row = rows[i];
      if (typeof row === "string") {
        var same = "<td><pre>" + esc(row) + "</pre></td>";
        html += "<tr>" + same + same + "</tr>";
      } else {
        html += "<tr>" + cell(row[0], "del") + cell(row[1], "ins") + "</tr>";
      }
    }
    if (more > 0) html += "<tr><td colspan=\"2\">… " + more + " more lines</td></tr>";
    return html + "</table>";
  }
  function article(item) {
    var request = data.requests[item[0]];
    var args = request[3] === null ? "" :
      "<details class=\"args\" open><summary>arguments</summary><pre>" + esc(request[3]) + "</pre></details>";
    return "<article class=\"divergence\" data-op=\"" + esc(request[2]) + "\" data-class=\"" +
      esc(item[3]) + "\" data-seq=\"" + request[0] + "\" data-path=\"" + esc(item[1]) + "\"><h3><code>" +
      esc(request[2]) + "</code> seq " + request[0] + " key " + esc(request[1] === null ? "(none)" : request[1]) +
      ": " + esc(item[3]) + " at <code>" + esc(item[1]) + "</code></h3>" + args +
      item[4].map(function (note) { return "<p>" + esc(note) + "</p>"; }).join("") +
      sides(item[5], item[6]) + "</article>";
  }
  function render() {
    el("f-op").value = state.op;
    el("f-class").value = state.cls;
    el("f-path").value = state.path;
    el("f-key").value = state.key;
    var found = matching();
    var pages = Math.max(1, Math.ceil(found.length / data.page));
    if (state.page > pages) state.page = pages;
    var first = (state.page - 1) * data.page;
    var shown = found.slice(first, first + data.page);
    el("matches").innerHTML = "<b id=\"match-count\">" + found.length + "</b> of " + data.items.length +
      " divergences match" + (shown.length ? "; showing " + (first + 1) + " to " + (first + shown.length) : "") +
      (data.beyond > 0 ? " (" + data.beyond + " more, beyond what this page holds, are in results.jsonl and counted in the field view)" : "");
    el("p-at").textContent = "page " + state.page + " of " + pages;
    el("p-prev").disabled = state.page <= 1;
    el("p-next").disabled = state.page >= pages;
    var parts = [];
    for (var i = 0; i < shown.length; i++) parts.push(article(shown[i]));
    el("list").innerHTML = parts.join("");
  }
  function change(field, value) {
    state[field] = value;
    state.page = 1;
    write();
    render();
  }
  el("f-op").addEventListener("change", function (e) { change("op", e.target.value); });
  el("f-class").addEventListener("change", function (e) { change("cls", e.target.value); });
  el("f-path").addEventListener("change", function (e) { change("path", e.target.value.trim()); });
  el("f-key").addEventListener("change", function (e) { change("key", e.target.value.trim()); });
  el("f-clear").addEventListener("click", function () {
    state = { op: "", cls: "", path: "", key: "", page: 1 };
    write();
    render();
  });
  el("p-prev").addEventListener("click", function () { state.page -= 1; write(); render(); });
  el("p-next").addEventListener("click", function () { state.page += 1; write(); render(); });
  window.addEventListener("hashchange", function () { read(); render(); });
  read();
  render();
  // For measurements: when the first page of the list was in the document, and when the
  // browser first painted, in ms from the navigation.
  var root = document.documentElement;
  root.setAttribute("data-listed-ms", String(Math.round(performance.now())));
  window.addEventListener("load", function () {
    setTimeout(function () {
      var paint = performance.getEntriesByName("first-contentful-paint")[0];
      if (paint) root.setAttribute("data-first-paint-ms", String(Math.round(paint.startTime)));
    }, 100);
  });
})();
