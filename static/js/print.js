// Print buttons (data-print): shown and wired only where scripts run; without them the
// page says to use the browser's own Print. A file, not an onclick: the Content Security
// Policy allows no inline script.
document.querySelectorAll("[data-print]").forEach(function (button) {
  button.hidden = false;
  button.addEventListener("click", function () {
    window.print();
  });
});
