// Show password: fetched by POST only when asked for, hidden again (and dropped from the page) when the
// pointer or focus leaves it; every fetch is a new, audited reveal. Copy puts it on the clipboard.
(function () {
  "use strict";
  var i18n = document.getElementById("ump-password-i18n");
  if (!i18n) { return; }

  function hide(box) {
    var value = box.querySelector(".js-value");
    var copy = box.querySelector(".js-copy");
    value.textContent = "";
    value.hidden = true;
    copy.hidden = true;
    // The next reveal starts afresh: Copy, not "Copied" from the last time.
    if (copy.dataset.label) { copy.textContent = copy.dataset.label; }
    box.querySelector(".js-reveal").hidden = false;
    box.style.minWidth = "";
    box.style.minHeight = "";
  }

  function reveal(box) {
    fetch(box.dataset.revealUrl, {
      method: "POST",
      credentials: "same-origin",
      cache: "no-store",
      headers: { "X-CSRFToken": i18n.dataset.csrf, "Accept": "application/json" }
    }).then(function (response) {
      return response.json().then(function (body) {
        if (!response.ok || !body.password) { throw new Error(body.error || i18n.dataset.failed); }
        return body.password;
      });
    }).then(function (password) {
      var value = box.querySelector(".js-value");
      // Keep at least the button's size, so a pointer still resting where the button was stays inside the
      // box (a longer Welsh label such as "Dangos Cyfrinair" would otherwise leave it outside: mouseout, hidden).
      var rect = box.getBoundingClientRect();
      box.style.minWidth = rect.width + "px";
      box.style.minHeight = rect.height + "px";
      value.textContent = password;
      value.hidden = false;
      box.querySelector(".js-copy").hidden = false;
      // Move focus inside the box before hiding the button that has it, or focusout hides it all again.
      // Without preventScroll Chromium scrolls a Copy button that lands below the fold to the middle of the
      // window: on a row low in the window the page jumped ~480 px and the pointer, no longer over the box,
      // hid the password at once.
      box.querySelector(".js-copy").focus({ preventScroll: true });
      box.querySelector(".js-reveal").hidden = true;
    }).catch(function (error) {
      var value = box.querySelector(".js-value");
      value.textContent = error.message;
      value.hidden = false;
    });
  }

  document.addEventListener("click", function (event) {
    var box = event.target.closest(".js-password");
    if (!box) { return; }
    if (event.target.closest(".js-reveal")) {
      reveal(box);
    } else if (event.target.closest(".js-copy")) {
      var text = box.querySelector(".js-value").textContent;
      var copy = box.querySelector(".js-copy");
      navigator.clipboard.writeText(text).then(function () {
        if (!copy.dataset.label) { copy.dataset.label = copy.textContent; }
        copy.textContent = i18n.dataset.copied;
      });
    }
  });
  document.addEventListener("mouseout", function (event) {
    var box = event.target.closest(".js-password");
    if (box && !box.contains(event.relatedTarget) && !box.querySelector(".js-value").hidden) { hide(box); }
  });
  document.addEventListener("focusout", function (event) {
    var box = event.target.closest(".js-password");
    if (box && !box.contains(event.relatedTarget) && !box.querySelector(".js-value").hidden) { hide(box); }
  });
})();
