// Move focus to the error summary when a page shows one, so keyboard and screen reader
// users hear what went wrong first (GOV.UK pattern). Without JavaScript the summary is
// still the first thing in <main> and the page title starts with "Error: ".
(function () {
  var summary = document.getElementById("error-summary");
  if (summary) {
    summary.focus();
  }
})();
