/* Small behaviours every page of the desk shares, kept out of the HTML so the content
   security policy can refuse inline scripts, inline handlers and style attributes
   (settings.CONTENT_SECURITY_POLICY):

   - select[data-autosubmit] submits its form when changed (the language switch);
   - input[data-check-all="<selector>"] ticks or clears every checkbox the selector names;
   - [data-width="<css length>"] gets that width (progress and IV bars), set through the DOM,
     which the policy allows, where a style="" attribute would be refused;
   - div.plotly-figure[data-figure="<id>"] is drawn by plotly.js from the JSON in the
     <script type="application/json" id="<id>"> block next to it (riskmodels.figures.figure_html).

   Loaded with defer after plotly.js (also deferred), so both run in order once the page is parsed. */
(function () {
  "use strict";

  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  });

  document.querySelectorAll("input[data-check-all]").forEach(function (master) {
    master.addEventListener("click", function () {
      document.querySelectorAll(master.dataset.checkAll).forEach(function (box) { box.checked = master.checked; });
    });
  });

  document.querySelectorAll("[data-width]").forEach(function (bar) {
    bar.style.width = bar.dataset.width;
  });

  var figures = document.querySelectorAll("div.plotly-figure[data-figure]");
  if (figures.length && window.Plotly) {
    figures.forEach(function (div) {
      var spec = JSON.parse(document.getElementById(div.dataset.figure).textContent);
      window.Plotly.newPlot(div, spec.data, spec.layout, { displaylogo: false, responsive: true });
    });
  }
})();
