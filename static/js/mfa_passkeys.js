// After a passkey is registered, show it in the list: django-otp-webauthn's script only says so in words.
document.addEventListener("otp_webauthn.register_complete", function () {
  window.location.reload();
});
