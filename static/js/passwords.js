// Show password: fetched by POST only when asked for, hidden again (and dropped from the page) when the
// pointer or focus leaves it; every fetch is a new, audited reveal. Copy puts it on the clipboard.
(function () {
  "use strict";
  var i18n = document.getElementById("ump-password-i18n");
  if (!i18n) { return; }

  function hide(box) {
    var value = box.querySelector(".js-value");
    value.textContent = "";
    value.hidden = true;
    box.querySelector(".js-copy").hidden = true;
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
      box.querySelector(".js-copy").focus({ preventScroll: true });  // scrolling would move the box from under the pointer
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
      navigator.clipboard.writeText(text).then(function () {
        box.querySelector(".js-copy").textContent = i18n.dataset.copied;
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
