// The mock's login page: turns the form's creation options into a navigator.credentials.create()
// call and posts the new credential back, base64url-encoded JSON in `credentialData`.
(function () {
  "use strict";
  var form = document.getElementById("registration");
  if (!form) return;
  var options = form.elements.credentialCreationData.value;
  var button = document.getElementById("btn-register");
  if (!window.PublicKeyCredential || !navigator.credentials || !window.isSecureContext) {
    form.querySelector(".wa-no-support").hidden = false;
    if (button) button.disabled = true;
    return;
  }

  function fromBase64url(text) {
    var base64 = text.replace(/-/g, "+").replace(/_/g, "/");
    var binary = atob(base64 + "===".slice((base64.length + 3) % 4));
    var bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes.buffer;
  }

  function toBase64url(buffer) {
    var bytes = new Uint8Array(buffer);
    var binary = "";
    for (var i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i]);
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function showError(error) {
    var box = document.getElementById("wa-error");
    box.querySelector(".cause").textContent = (error && error.name ? error.name + ": " : "") +
      (error && error.message ? error.message : String(error));
    box.hidden = false;
    if (button) button.disabled = false;
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    if (button) button.disabled = true;
    var publicKey;
    try {
      publicKey = JSON.parse(new TextDecoder().decode(fromBase64url(options))).publicKey;
      publicKey.challenge = fromBase64url(publicKey.challenge);
      publicKey.user.id = fromBase64url(publicKey.user.id);
      (publicKey.excludeCredentials || []).forEach(function (c) { c.id = fromBase64url(c.id); });
    } catch (error) {
      showError(error);
      return;
    }
    navigator.credentials.create({ publicKey: publicKey }).then(function (credential) {
      var answer = {
        id: credential.id,
        rawId: toBase64url(credential.rawId),
        type: credential.type,
        response: {
          attestationObject: toBase64url(credential.response.attestationObject),
          clientDataJSON: toBase64url(credential.response.clientDataJSON)
        }
      };
      form.elements.credentialData.value =
        toBase64url(new TextEncoder().encode(JSON.stringify(answer)));
      form.submit();
    }, showError);
  });
})();
