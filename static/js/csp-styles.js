/* plotly.js (and d3 under it) styles the page in two ways the content security policy refuses
   unless told otherwise: it creates <style> elements (its global sheet and maplibre's when it
   loads, each chart's mode bar colours when it draws), and it sets style="" attributes with
   setAttribute (heatmaps, legends). This script, the first of the page, makes both pass:

   - every <style> made through document.createElement gets the page's nonce, which this
     script's own tag carries (templates/base.html);
   - setAttribute("style", text) sets the same declarations through the CSSOM (style.cssText),
     which the policy does not limit; style="" written in the HTML stays refused.

   Loaded with defer before plotly.js and desk.js (deferred scripts run in document order). */
(function () {
  "use strict";

  var nonce = document.currentScript && document.currentScript.nonce;
  if (nonce) {
    var createElement = document.createElement;
    document.createElement = function (tagName) {
      var element = createElement.apply(document, arguments);
      if (String(tagName).toLowerCase() === "style") { element.nonce = nonce; }
      return element;
    };
  }

  var setAttribute = Element.prototype.setAttribute;
  Element.prototype.setAttribute = function (name, value) {
    if (String(name).toLowerCase() === "style" && this.style) {
      this.style.cssText = String(value);
      return;
    }
    setAttribute.apply(this, arguments);
  };
})();
