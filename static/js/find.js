// Finding a free slot without reloading the page. Progressive enhancement only:
// every link and button here works without JavaScript (the server answers the same
// pages); this script fetches those pages and swaps in the part that changed.
(function () {
  "use strict";

  function fetchPage(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } }).then(
      function (response) {
        if (!response.ok && response.status !== 422) throw new Error(String(response.status));
        return response.text().then(function (text) {
          return new DOMParser().parseFromString(text, "text/html");
        });
      }
    );
  }

  // Move focus to the new content's heading, so that screen readers follow.
  function focusHeading(element) {
    var heading = element.querySelector("h1, h2");
    if (!heading) return;
    heading.setAttribute("tabindex", "-1");
    heading.focus({ preventScroll: false });
  }

  function replaceWith(current, fresh) {
    if (!current || !fresh) return false;
    current.replaceWith(document.importNode(fresh, true));
    return true;
  }

  // Other weeks on the resource page, the venue's week and the booking form.
  function swapWeek(trigger, url, remember) {
    var container = trigger.closest("[data-week][id]");
    if (!container) return false;
    var id = container.id;
    container.setAttribute("aria-busy", "true");
    fetchPage(url)
      .then(function (page) {
        var fresh = page.getElementById(id);
        if (!replaceWith(document.getElementById(id), fresh)) throw new Error("missing");
        if (remember) history.pushState({ find: true }, "", url);
        focusHeading(document.getElementById(id));
      })
      .catch(function () {
        window.location.href = url;
      });
    return true;
  }

  // A free time tapped on the booking form fills its fields.
  function pick(button) {
    var value = button.value; // 2026-03-03T09:00/12:30
    var form = button.form;
    if (!form || value.length !== 22) return false;
    var fields = { day: value.slice(0, 10), start: value.slice(11, 16), end: value.slice(17) };
    Object.keys(fields).forEach(function (name) {
      var input = form.elements.namedItem(name);
      if (input) input.value = fields[name];
    });
    form.querySelectorAll(".plan-pick.is-chosen").forEach(function (other) {
      other.classList.remove("is-chosen");
      other.removeAttribute("aria-pressed");
    });
    button.classList.add("is-chosen");
    var status = document.getElementById("picked");
    if (status) {
      var day = button.querySelector(".visually-hidden");
      var text = status.dataset.text || "";
      status.textContent = text
        .replace("%(day)s", day ? day.textContent.replace(/,\s*$/, "") : fields.day)
        .replace("%(start)s", fields.start)
        .replace("%(end)s", fields.end);
    }
    var title = document.getElementById("form-title");
    if (title) {
      title.setAttribute("tabindex", "-1");
      title.focus();
    }
    return true;
  }

  document.addEventListener("click", function (event) {
    var target = event.target.closest("a[data-week-link], button[data-week-href], button.plan-pick");
    if (!target || event.defaultPrevented || event.button !== 0) return;
    if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    var handled = false;
    if (target.matches("a[data-week-link]")) handled = swapWeek(target, target.href, true);
    else if (target.matches("button[data-week-href]"))
      handled = swapWeek(target, target.dataset.weekHref, false);
    else if (target.name === "pick") handled = pick(target);
    if (handled) event.preventDefault();
  });

  // The search answers below its form without reloading.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches("form[data-search]") || event.defaultPrevented) return;
    var query = new URLSearchParams(new FormData(form)).toString();
    var url = form.action.split("?")[0] + "?" + query;
    event.preventDefault();
    var results = document.getElementById("search-results");
    if (results) results.setAttribute("aria-busy", "true");
    fetchPage(url)
      .then(function (page) {
        var ok = replaceWith(document.getElementById("search-results"), page.getElementById("search-results"));
        replaceWith(document.getElementById("search-form"), page.getElementById("search-form"));
        if (!ok) throw new Error("missing");
        history.pushState({ find: true }, "", url);
        var status = document.getElementById("search-status");
        var summary = document.querySelector("#search-results [data-summary]");
        if (status && summary) status.textContent = summary.textContent;
        var invalid = document.querySelector("#search-form [aria-invalid=true]");
        if (invalid) invalid.focus();
        else focusHeading(document.getElementById("search-results"));
      })
      .catch(function () {
        window.location.href = url;
      });
  });

  window.addEventListener("popstate", function (event) {
    if (event.state && event.state.find) window.location.reload();
  });
  if (!history.state) history.replaceState({ find: true }, "", window.location.href);
})();
