// Live handoff queue: the server pushes the whole queue (JSON) over SSE on every change.
// Rows are built with textContent only, so nothing from a call can inject markup.
(function () {
  "use strict";
  var tbody = document.getElementById("handoff-rows");
  var empty = document.getElementById("empty-queue");
  var status = document.getElementById("live-status");
  if (!tbody || !window.EventSource) { return; }

  function fmt(iso) {
    var d = new Date(iso);
    if (isNaN(d.getTime())) { return iso; }
    return d.toISOString().replace("T", " ").slice(0, 19) + " UTC";
  }

  function cell(row, text) {
    var td = document.createElement("td");
    td.textContent = text;
    row.appendChild(td);
    return td;
  }

  function render(items) {
    var rows = document.createDocumentFragment();
    items.forEach(function (h) {
      var tr = document.createElement("tr");
      tr.dataset.handoffId = String(h.id);
      var link = document.createElement("a");
      link.href = "/agent/handoffs/" + h.id;
      link.textContent = "#" + h.id;
      cell(tr, "").appendChild(link);
      var badge = document.createElement("span");
      badge.className = "badge " + h.status;
      badge.textContent = h.status;
      cell(tr, "").appendChild(badge);
      cell(tr, h.reason_label || h.reason);
      cell(tr, h.caller);
      cell(tr, h.caller_intent);
      cell(tr, h.verified ? "yes" : "no");
      cell(tr, h.sentiment);
      cell(tr, h.assigned_to || "");
      cell(tr, fmt(h.created_at));
      rows.appendChild(tr);
    });
    tbody.replaceChildren(rows);
    empty.hidden = items.length > 0;
  }

  var source = new EventSource("/agent/events");
  source.addEventListener("handoffs", function (event) {
    render(JSON.parse(event.data));
    status.textContent = "Live.";
    document.body.dataset.live = "1";
  });
  source.onerror = function () { status.textContent = "Reconnecting…"; };
}());
