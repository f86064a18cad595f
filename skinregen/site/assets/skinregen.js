/* Filter box and click-to-sort headers for every table.skinregen-table. No dependencies. */
(function () {
  "use strict";
  function cellValue(row, index, numeric) {
    var text = row.cells[index] ? row.cells[index].textContent.trim() : "";
    if (!numeric) { return text.toLowerCase(); }
    var number = parseFloat(text);
    return isNaN(number) ? -Infinity : number;
  }
  function enhance(table) {
    if (table.dataset.enhanced) { return; }
    table.dataset.enhanced = "1";
    var body = table.tBodies[0];
    var input = document.createElement("input");
    input.type = "search";
    input.className = "skinregen-filter";
    input.placeholder = "Filter rows…";
    input.setAttribute("aria-label", "Filter the rows of this table");
    var count = document.createElement("span");
    count.className = "skinregen-count";
    function update() {
      var needle = input.value.toLowerCase();
      var shown = 0;
      Array.prototype.forEach.call(body.rows, function (row) {
        var match = row.textContent.toLowerCase().indexOf(needle) !== -1;
        row.hidden = !match;
        if (match) { shown += 1; }
      });
      count.textContent = shown + " of " + body.rows.length + " rows";
    }
    input.addEventListener("input", update);
    table.parentNode.insertBefore(input, table);
    table.parentNode.insertBefore(count, table);
    update();
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, index) {
      th.tabIndex = 0;
      th.setAttribute("aria-sort", "none");
      function sort() {
        var ascending = th.getAttribute("aria-sort") !== "ascending";
        var numeric = th.dataset.type === "number";
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = cellValue(a, index, numeric), y = cellValue(b, index, numeric);
          return (x < y ? -1 : x > y ? 1 : 0) * (ascending ? 1 : -1);
        });
        Array.prototype.forEach.call(th.parentNode.cells, function (other) { other.setAttribute("aria-sort", "none"); });
        th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
        rows.forEach(function (row) { body.appendChild(row); });
      }
      th.addEventListener("click", sort);
      th.addEventListener("keydown", function (event) { if (event.key === "Enter" || event.key === " ") { event.preventDefault(); sort(); } });
    });
  }
  function init() { Array.prototype.forEach.call(document.querySelectorAll("table.skinregen-table"), enhance); }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
