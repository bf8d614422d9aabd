// Managers' pages: a "Print" button where the browser can print. Without
// JavaScript the button stays hidden and the browser's own Print works the same.
document.addEventListener("DOMContentLoaded", () => {
  for (const button of document.querySelectorAll(".js-print")) {
    button.hidden = false;
    button.addEventListener("click", () => window.print());
  }
});
