// Copy buttons for calendar feed links. Progressive enhancement: without
// JavaScript the link stays visible and selectable, and the button stays hidden.
(function () {
  "use strict";

  function selectText(element) {
    var range = document.createRange();
    range.selectNodeContents(element);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }

  function copyByCommand(element) {
    selectText(element);
    try {
      return document.execCommand("copy");
    } catch (error) {
      return false;
    }
  }

  function announce(button, message) {
    var box = button.closest(".feed-box");
    var status = box && box.querySelector(".feed-status");
    if (status) status.textContent = message;
  }

  function setUp(button) {
    if (button.dataset.ready) return;
    var target = document.getElementById(button.dataset.copy);
    if (!target) return;
    button.dataset.ready = "1";
    button.hidden = false;
    button.addEventListener("click", function () {
      var text = target.textContent.trim();
      var done = function () {
        selectText(target);
        announce(button, button.dataset.copied);
      };
      var failed = function () {
        if (copyByCommand(target)) done();
        else announce(button, button.dataset.failed);
      };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(done, failed);
      } else {
        failed();
      }
    });
  }

  function init() {
    document.querySelectorAll("button.feed-copy[data-copy]").forEach(setUp);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
