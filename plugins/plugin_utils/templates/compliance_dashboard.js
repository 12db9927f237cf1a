/* wsman.winrm fleet dashboard: draws the hosts x controls grid from the page's JSON block, filters it
   and shows one host's results. Text from hosts only reaches the page escaped or as textContent. */
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("fleet-data").textContent);
  var statuses = data.statuses;
  var LETTERS = {pass: "P", fail: "F", deviation: "D", not_applicable: "N", unknown: "U"};
  var state = {statuses: {}, control: "", group: "", search: ""};
  var shownHosts = [];
  var shownColumns = [];
  var grid = document.getElementById("grid");

  // A cell keeps only what differs from its control's common values (see fleet_data).
  function rowAt(hostIndex, column) {
    var own = data.hosts[hostIndex].rows[column];
    if (!own) { return null; }
    var row = {};
    var shared = data.controls[column];
    Object.keys(shared).forEach(function (key) { if (key !== "id") { row[key] = shared[key]; } });
    Object.keys(own).forEach(function (key) { row[key] = own[key]; });
    return row;
  }
  var panel = document.getElementById("drilldown");

  function esc(text) {
    return String(text).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
      .replace(/"/g, "&quot;").replace(/'/g, "&#39;");
  }

  function text(value) {
    if (value === null || value === undefined) { return ""; }
    return typeof value === "string" ? value : JSON.stringify(value);
  }

  function selectedStatuses() {
    return statuses.filter(function (s) { return state.statuses[s]; });
  }

  function columns() {
    if (!state.control) { return data.order; }
    return data.order.filter(function (i) { return data.controls[i].id === state.control; });
  }

  function groupMembers() {
    if (!state.group) { return null; }
    var members = {};
    (data.groups[state.group] || []).forEach(function (name) { members[name] = true; });
    return members;
  }

  function render() {
    var cols = columns();
    var wanted = selectedStatuses().map(function (s) { return statuses.indexOf(s); });
    var members = groupMembers();
    var search = state.search.toLowerCase();
    var head = ['<tr><th class="host" scope="col">host</th>'];
    cols.forEach(function (i) {
      var c = data.controls[i];
      head.push('<th class="control" scope="col" data-control="' + esc(c.id) + '" title="' +
        esc(c.id + ": " + (c.title || "")) + '">' + esc(c.id) + "</th>");
    });
    head.push("</tr>");
    var body = [];
    shownHosts = [];
    data.hosts.forEach(function (h, index) {
      if (members && !members[h.name]) { return; }
      if (search && h.name.toLowerCase().indexOf(search) < 0) { return; }
      if (wanted.length && !cols.some(function (i) { return wanted.indexOf(h.cells[i]) >= 0; })) { return; }
      shownHosts.push(index);
      var row = ['<tr data-host="' + index + '"><th class="host" scope="row">' + esc(h.name) + "</th>"];
      cols.forEach(function (i) {
        var cell = h.cells[i];
        var name = cell < 0 ? "missing" : statuses[cell];
        var dim = wanted.length && wanted.indexOf(cell) < 0 ? " dim" : "";
        row.push('<td class="s-' + name + dim + '">' + (cell < 0 ? "" : LETTERS[name]) + "</td>");
      });
      row.push("</tr>");
      body.push(row.join(""));
    });
    shownColumns = cols;
    grid.tHead.innerHTML = head.join("");
    document.getElementById("shown").textContent = shownHosts.length + " of " + data.hosts.length + " hosts, " +
      cols.length + " of " + data.controls.length + " controls";
    draw(body);
  }

  // The worst hosts come first and are drawn at once; the rest follow in chunks, each in its own task,
  // so a large fleet shows up (and answers clicks) before its last row is laid out. data-ready on the
  // body is "true" when every row is in the grid.
  var FIRST_ROWS = 120;
  var CHUNK_ROWS = 300;
  var drawing = 0;

  function draw(body) {
    var generation = drawing + 1;
    var next = FIRST_ROWS;
    drawing = generation;
    document.body.setAttribute("data-ready", "false");
    grid.tBodies[0].innerHTML = body.slice(0, next).join("");
    function more() {
      if (generation !== drawing) { return; }
      if (next >= body.length) {
        document.body.setAttribute("data-ready", "true");
        if (window.performance && performance.mark) { performance.mark("dashboard-ready"); }
        return;
      }
      grid.tBodies[0].insertAdjacentHTML("beforeend", body.slice(next, next + CHUNK_ROWS).join(""));
      next += CHUNK_ROWS;
      setTimeout(more, 0);
    }
    if (next >= body.length) { more(); } else { setTimeout(more, 0); }
  }

  function cellAt(target) {
    var td = target.closest("td, th.host");
    var tr = target.closest("tr[data-host]");
    if (!td || !tr) { return null; }
    return {host: Number(tr.getAttribute("data-host")),
            column: td.tagName === "TD" ? shownColumns[td.cellIndex - 1] : -1};
  }

  function cellTitle(position) {
    var h = data.hosts[position.host];
    var c = data.controls[position.column];
    var cell = h.cells[position.column];
    if (cell < 0) { return h.name + " / " + c.id + ": no result"; }
    var detail = rowAt(position.host, position.column) || {};
    return h.name + " / " + c.id + ": " + statuses[cell] + (detail.reason ? " - " + text(detail.reason) : "");
  }

  function element(tag, className, content) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (content !== undefined) { node.textContent = content; }
    return node;
  }

  function references(refs) {
    if (!refs) { return ""; }
    var parts = [];
    if (refs.cis) { parts.push("CIS " + refs.cis + (refs.cis_level ? " " + refs.cis_level : "")); }
    if (refs.stig) { parts.push("STIG " + refs.stig + (refs.stig_severity ? " " + refs.stig_severity : "")); }
    return parts.join(", ");
  }

  function evidenceList(items) {
    var list = element("ul", "evidence");
    (items || []).forEach(function (item) {
      var li = element("li");
      li.appendChild(element("code", "", text(item.setting)));
      li.appendChild(document.createTextNode(" = " + (text(item.value) || "(none)") + " [" + text(item.source) + "]"));
      list.appendChild(li);
    });
    return list;
  }

  function show(hostIndex, column) {
    var h = data.hosts[hostIndex];
    panel.textContent = "";
    var close = element("button", "close", "Close");
    close.type = "button";
    close.addEventListener("click", function () { panel.hidden = true; });
    panel.appendChild(close);
    panel.appendChild(element("h2", "", h.name));
    var groups = Object.keys(data.groups).filter(function (g) { return data.groups[g].indexOf(h.name) >= 0; });
    if (groups.length) { panel.appendChild(element("p", "groups", "Groups: " + groups.join(", "))); }
    var details = data.details[h.name];
    if (details) {
      var dl = element("dl", "details");
      Object.keys(details).forEach(function (key) {
        dl.appendChild(element("dt", "", key));
        dl.appendChild(element("dd", "", details[key]));
      });
      panel.appendChild(dl);
    }
    var table = element("table");
    var head = element("tr");
    ["status", "control", "finding", "evidence and fix"].forEach(function (label) {
      head.appendChild(element("th", "", label));
    });
    table.appendChild(head);
    data.order.forEach(function (i) {
      var c = data.controls[i];
      var cell = h.cells[i];
      var row = rowAt(hostIndex, i) || {};
      var tr = element("tr");
      tr.setAttribute("data-control", c.id);
      if (i === column) { tr.className = "focus"; }
      var status = cell < 0 ? "missing" : statuses[cell];
      var state = element("td");
      state.appendChild(element("span", "chip s-" + status, cell < 0 ? "no result" : status.replace("_", " ")));
      tr.appendChild(state);
      var name = element("td");
      name.appendChild(element("strong", "", c.id));
      name.appendChild(element("div", "", row.title || ""));
      name.appendChild(element("div", "refs", [row.severity || "", references(row.references)].filter(Boolean).join(" - ")));
      tr.appendChild(name);
      var finding = element("td");
      finding.appendChild(element("div", "", "expected: " + text(row.expected)));
      finding.appendChild(element("div", "", "actual: " + text(row.actual)));
      if (row.reason) { finding.appendChild(element("div", "why", text(row.reason))); }
      if (row.evaluated_status) {
        finding.appendChild(element("div", "", "without the deviation: " + row.evaluated_status));
      }
      tr.appendChild(finding);
      var evidence = element("td");
      if (row.setting) { evidence.appendChild(element("div", "setting", "Setting: " + text(row.setting))); }
      evidence.appendChild(evidenceList(row.evidence));
      if (row.change) { evidence.appendChild(element("div", "change", "An apply would change: " + text(row.change))); }
      if (row.fix) { evidence.appendChild(element("div", "fix", "Fix: " + text(row.fix))); }
      tr.appendChild(evidence);
      table.appendChild(tr);
    });
    panel.appendChild(table);
    panel.hidden = false;
    Array.prototype.forEach.call(grid.querySelectorAll("tr.selected"), function (tr) { tr.classList.remove("selected"); });
    var selected = grid.querySelector('tr[data-host="' + hostIndex + '"]');
    if (selected) { selected.classList.add("selected"); }
    var focus = panel.querySelector("tr.focus");
    if (focus) { focus.scrollIntoView({block: "nearest"}); }
  }

  function hostIndex(name) {
    for (var i = 0; i < data.hosts.length; i += 1) {
      if (data.hosts[i].name === name) { return i; }
    }
    return -1;
  }

  grid.tBodies[0].addEventListener("mouseover", function (event) {
    var td = event.target.closest("td");
    if (td && !td.title) {
      var position = cellAt(td);
      if (position && position.column >= 0) { td.title = cellTitle(position); }
    }
  });
  grid.tBodies[0].addEventListener("click", function (event) {
    var position = cellAt(event.target);
    if (position) { show(position.host, position.column); }
  });
  grid.tHead.addEventListener("click", function (event) {
    var th = event.target.closest("th.control");
    if (th) { setControl(state.control ? "" : th.getAttribute("data-control")); }
  });

  function setControl(id) {
    state.control = id;
    document.getElementById("filter-control").value = id;
    render();
  }

  Array.prototype.forEach.call(document.querySelectorAll("button.status"), function (button) {
    button.addEventListener("click", function () {
      var status = button.getAttribute("data-status");
      state.statuses[status] = !state.statuses[status];
      button.setAttribute("aria-pressed", state.statuses[status] ? "true" : "false");
      render();
    });
  });
  document.getElementById("filter-control").addEventListener("change", function (event) { setControl(event.target.value); });
  document.getElementById("filter-group").addEventListener("change", function (event) {
    state.group = event.target.value;
    render();
  });
  document.getElementById("filter-host").addEventListener("input", function (event) {
    state.search = event.target.value;
    render();
  });
  document.getElementById("filter-reset").addEventListener("click", function () {
    state = {statuses: {}, control: "", group: "", search: ""};
    Array.prototype.forEach.call(document.querySelectorAll("button.status"), function (button) {
      button.setAttribute("aria-pressed", "false");
    });
    document.getElementById("filter-control").value = "";
    document.getElementById("filter-group").value = "";
    document.getElementById("filter-host").value = "";
    render();
  });
  Array.prototype.forEach.call(document.querySelectorAll("#worst-hosts [data-host]"), function (button) {
    button.addEventListener("click", function () { show(hostIndex(button.getAttribute("data-host")), -1); });
  });
  Array.prototype.forEach.call(document.querySelectorAll("#worst-controls [data-control]"), function (button) {
    button.addEventListener("click", function () { setControl(button.getAttribute("data-control")); });
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") { panel.hidden = true; }
  });

  render();
  if (window.performance && performance.mark) {
    // The frame after the one that drew the first rows: when a reader sees the grid (the benchmark's figure).
    requestAnimationFrame(function () { setTimeout(function () { performance.mark("dashboard-painted"); }, 0); });
  }
}());
