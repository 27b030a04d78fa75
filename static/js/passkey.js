// Passkey ceremonies (WebAuthn). A form marked data-passkey-ceremony="create" or "get" asks the
// server for options (POST, with the page's CSRF token), calls navigator.credentials, puts the
// result (JSON) in its hidden field and submits itself: the server checks everything.
// Without JavaScript the button stays hidden and the page's <noscript> says to use the app.
(function () {
  "use strict";

  function toBytes(value) {
    var text = value.replace(/-/g, "+").replace(/_/g, "/");
    while (text.length % 4) { text += "="; }
    var raw = atob(text);
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) { bytes[i] = raw.charCodeAt(i); }
    return bytes.buffer;
  }

  function toText(buffer) {
    if (!buffer) { return null; }
    var bytes = new Uint8Array(buffer);
    var raw = "";
    for (var i = 0; i < bytes.length; i++) { raw += String.fromCharCode(bytes[i]); }
    return btoa(raw).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function decodeOptions(options) {
    options.challenge = toBytes(options.challenge);
    if (options.user) { options.user.id = toBytes(options.user.id); }
    ["excludeCredentials", "allowCredentials"].forEach(function (name) {
      (options[name] || []).forEach(function (descriptor) { descriptor.id = toBytes(descriptor.id); });
    });
    return options;
  }

  function encodeCredential(credential) {
    var response = credential.response;
    var encoded = {
      id: credential.id,
      rawId: toText(credential.rawId),
      type: credential.type,
      authenticatorAttachment: credential.authenticatorAttachment || null,
      clientExtensionResults: credential.getClientExtensionResults ? credential.getClientExtensionResults() : {},
      response: { clientDataJSON: toText(response.clientDataJSON) }
    };
    if (response.attestationObject) {
      encoded.response.attestationObject = toText(response.attestationObject);
      encoded.response.transports = response.getTransports ? response.getTransports() : [];
    } else {
      encoded.response.authenticatorData = toText(response.authenticatorData);
      encoded.response.signature = toText(response.signature);
      encoded.response.userHandle = toText(response.userHandle);
    }
    return JSON.stringify(encoded);
  }

  // The GOV.UK error summary, made or refreshed at the top of <main>, then focused.
  function showError(message) {
    var summary = document.getElementById("error-summary");
    if (!summary) {
      summary = document.createElement("div");
      summary.id = "error-summary";
      summary.className = "usa-alert usa-alert--error margin-bottom-3";
      summary.setAttribute("role", "alert");
      summary.setAttribute("tabindex", "-1");
      summary.setAttribute("aria-labelledby", "error-summary-heading");
      summary.innerHTML = '<div class="usa-alert__body"><h2 class="usa-alert__heading" ' +
        'id="error-summary-heading">There is a problem</h2><ul class="usa-list usa-list--unstyled"></ul></div>';
      var main = document.getElementById("main-content") || document.body;
      main.insertBefore(summary, main.firstChild);
      if (document.title.indexOf("Error: ") !== 0) { document.title = "Error: " + document.title; }
    }
    var list = summary.querySelector("ul");
    list.textContent = "";
    var item = document.createElement("li");
    item.textContent = message;
    list.appendChild(item);
    summary.focus();
  }

  var MESSAGES = {
    NotAllowedError: "The passkey request was cancelled or ran out of time. Try again, or use your authenticator app.",
    InvalidStateError: "This passkey is already added to your account. Choose a different passkey or security key.",
    SecurityError: "Passkeys cannot be used on this address. Use your authenticator app instead."
  };

  function start(form) {
    var button = form.querySelector("[data-passkey-button]");
    var field = form.querySelector("[data-passkey-credential]");
    var token = form.querySelector("input[name$='csrf_token']");
    var ceremony = form.getAttribute("data-passkey-ceremony");
    if (!window.PublicKeyCredential || !navigator.credentials) {
      var unsupported = form.querySelector("[data-passkey-unsupported]");
      if (unsupported) { unsupported.hidden = false; }
      return;
    }
    button.hidden = false;
    form.addEventListener("submit", function (event) {
      // Only the passkey button starts a ceremony; another button (a code) submits as usual.
      if (field.value || (event.submitter && event.submitter !== button)) { return; }
      event.preventDefault();
      button.disabled = true;
      var body = new URLSearchParams({ ceremony: ceremony });
      fetch(form.getAttribute("data-passkey-options"), {
        method: "POST",
        credentials: "same-origin",
        headers: { "X-CSRFToken": token.value },
        body: body
      }).then(function (answer) {
        if (!answer.ok) { throw new Error("options"); }
        return answer.json();
      }).then(function (options) {
        var publicKey = decodeOptions(options);
        return ceremony === "create" ? navigator.credentials.create({ publicKey: publicKey })
          : navigator.credentials.get({ publicKey: publicKey });
      }).then(function (credential) {
        field.value = encodeCredential(credential);
        form.submit();
      }).catch(function (error) {
        button.disabled = false;
        showError(MESSAGES[error && error.name] ||
          "Your passkey could not be used. Try again, or use your authenticator app.");
      });
    });
  }

  Array.prototype.forEach.call(document.querySelectorAll("form[data-passkey-ceremony]"), start);
})();
