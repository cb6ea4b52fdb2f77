/* The case page: log a contact attempt without a page reload, and reveal masked PII (audited).
   Plain JS; the page's Django forms carry the CSRF token and the translated messages. */
(function () {
  "use strict";

  function csrfToken() {
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function formatTime(iso) {
    if (!iso) { return ""; }
    var when = new Date(iso);
    if (isNaN(when.getTime())) { return iso; }
    return new Intl.DateTimeFormat(document.documentElement.lang || undefined, {
      year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hour12: false
    }).format(when);
  }

  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text) { node.textContent = text; }
    return node;
  }

  /* Draw the attempt's timeline entry (rendered by the server, so it reads like the rest) on top. */
  function prependAttempt(form, attemptId) {
    if (!attemptId) { return Promise.resolve(); }
    var url = form.dataset.rowUrl.replace(/\/0\/$/, "/" + attemptId + "/");
    return fetch(url, { credentials: "same-origin" }).then(function (response) {
      if (!response.ok) { return; }
      return response.text().then(function (html) {
        var timeline = document.getElementById("timeline");
        var empty = timeline.querySelector(".tl-empty");
        if (empty) { empty.remove(); }
        timeline.insertAdjacentHTML("afterbegin", html.trim());
      });
    });
  }

  function showResult(box, tone, lines) {
    box.hidden = false;
    box.className = "attempt-result " + tone;
    box.replaceChildren();
    lines.forEach(function (line) { box.appendChild(line); });
  }

  function ruleLabel(rule) {
    var labels = document.getElementById("rule-labels");
    var known = labels ? JSON.parse(labels.textContent) : {};
    return known[rule] || rule;
  }

  function showBlocked(form, box, error) {
    var head = element("div", "blocked-head");
    head.appendChild(element("strong", "", form.dataset.msgBlocked + ": " + ruleLabel(error.rule)));
    head.appendChild(document.createTextNode(" "));
    head.appendChild(element("span", "mono rule-code", error.rule || error.code));
    var lines = [head, element("div", "blocked-message", error.message)];
    if (error.next_allowed_at) {
      lines.push(element("div", "blocked-next", form.dataset.msgNext + ": " + formatTime(error.next_allowed_at)));
    }
    showResult(box, "blocked", lines);
  }

  function showError(form, box, error) {
    var detail = [error.message || ""];
    Object.keys(error.fields || {}).forEach(function (name) {
      detail.push(name + ": " + [].concat(error.fields[name]).join(" "));
    });
    showResult(box, "error", [element("strong", "", form.dataset.msgError), element("div", "", detail.join(" "))]);
  }

  function attemptPayload(form) {
    return {
      contact_point: Number(form.elements.contact_point.value),
      channel: form.elements.channel.value,
      purpose: form.elements.purpose.value,
      outcome: form.elements.outcome.value,
      note: form.elements.note.value,
      template: form.elements.template.value ? Number(form.elements.template.value) : null,
      at: new Date().toISOString()
    };
  }

  function logAttempt(event) {
    var form = event.target;
    var box = document.getElementById("attempt-result");
    var button = form.querySelector("button[type=submit]");
    event.preventDefault();
    button.disabled = true;
    fetch(form.action, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": csrfToken() },
      body: JSON.stringify(attemptPayload(form))
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (body) {
        if (response.status === 201) {
          showResult(box, "logged", [element("span", "", form.dataset.msgLogged)]);
          form.elements.note.value = "";
          return prependAttempt(form, body.id);
        }
        var error = body.error || { message: response.statusText };
        if (error.code === "contact_blocked") {
          showBlocked(form, box, error);
          return prependAttempt(form, error.attempt_id);
        }
        showError(form, box, error);
      });
    }).catch(function (failure) {
      showError(form, box, { message: String(failure) });
    }).finally(function () {
      button.disabled = false;
    });
  }

  /* Offer only the channels the chosen contact point can carry (a phone: call or SMS; email; app push). */
  function limitChannels(form) {
    var point = form.elements.contact_point.selectedOptions[0];
    var allowed = point ? point.dataset.channels.split(",") : [];
    var channel = form.elements.channel;
    Array.prototype.forEach.call(channel.options, function (option) {
      option.disabled = allowed.indexOf(option.value) === -1;
      option.hidden = option.disabled;
    });
    if (channel.selectedOptions[0] && channel.selectedOptions[0].disabled) {
      channel.value = allowed[0] || "";
    }
    limitTemplates(form);
  }

  /* A message (SMS, email, push) carries an approved template of its channel; a call none. */
  function limitTemplates(form) {
    var channel = form.elements.channel.value;
    var select = form.elements.template;
    var first = "";
    Array.prototype.forEach.call(select.options, function (option) {
      if (!option.value) { return; }
      option.disabled = option.dataset.channel !== channel;
      option.hidden = option.disabled;
      if (!option.disabled && !first) { first = option.value; }
    });
    if (!select.value || select.selectedOptions[0].disabled) { select.value = first; }
    select.closest("label").hidden = channel === "call" || channel === "letter";
    if (select.closest("label").hidden) { select.value = ""; }
  }

  function reveal(event) {
    var button = event.target.closest("button.reveal");
    if (!button) { return; }
    var body = new URLSearchParams({ field: button.dataset.field });
    fetch(button.dataset.url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken(), "Accept": "application/json" },
      body: body
    }).then(function (response) {
      if (!response.ok) { return; }
      return response.json().then(function (answer) {
        var holder = button.closest(".pii");
        holder.querySelector(".pii-value").textContent = answer.value;
        holder.classList.add("revealed");
        button.remove();
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("attempt-form");
    if (form) {
      form.addEventListener("submit", logAttempt);
      form.elements.contact_point.addEventListener("change", function () { limitChannels(form); });
      form.elements.channel.addEventListener("change", function () { limitTemplates(form); });
      limitChannels(form);
    }
    document.addEventListener("click", reveal);
  });
})();
