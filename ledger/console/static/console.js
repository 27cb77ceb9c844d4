// The console's only script: forms marked data-confirm ask before they are sent (revoke a
// terminal, block a card). Everything works without it.
document.addEventListener("submit", function (event) {
  var form = event.target;
  var question = form.getAttribute && form.getAttribute("data-confirm");
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});
