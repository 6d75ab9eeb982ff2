// Sends the authorization response form of the form_post page to the client (OAuth 2.0 Form
// Post Response Mode). Without scripts the page shows a button instead.
document.addEventListener("DOMContentLoaded", function () {
  var form = document.getElementById("response");
  if (form) { form.submit(); }
});
