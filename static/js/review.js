// Video interview review (the team's page and the shared page): one playback speed for every
// answer (remembered in this browser), one answer playing at a time, and copying the share
// link. Loaded as a file: the CSP allows no inline script.
(function () {
  "use strict";
  var KEY = "recruitflow.reviewSpeed";
  var SPEEDS = ["0.75", "1", "1.25", "1.5", "2"];

  function videos() {
    return Array.prototype.slice.call(document.querySelectorAll("video[data-review-video]"));
  }

  function stored() {
    try {
      var value = window.localStorage.getItem(KEY);
      return SPEEDS.indexOf(value) >= 0 ? value : "1";
    } catch (e) {
      return "1";
    }
  }

  function applySpeed(value) {
    var rate = parseFloat(value);
    videos().forEach(function (video) {
      video.defaultPlaybackRate = rate;
      video.playbackRate = rate;
    });
    document.querySelectorAll("[data-speed]").forEach(function (button) {
      var on = button.getAttribute("data-speed") === value;
      button.classList.toggle("active", on);
      button.setAttribute("aria-pressed", on ? "true" : "false");
    });
    try {
      window.localStorage.setItem(KEY, value);
    } catch (e) {
      // Private windows may refuse storage; the speed still applies to this page.
    }
  }

  document.addEventListener("click", function (event) {
    var speed = event.target.closest("[data-speed]");
    if (speed) {
      applySpeed(speed.getAttribute("data-speed"));
      return;
    }
    var copy = event.target.closest("[data-copy-target]");
    if (copy) {
      var input = document.getElementById(copy.getAttribute("data-copy-target"));
      if (!input) return;
      input.select();
      var done = function () { copy.textContent = "Copied"; };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(input.value).then(done, function () {});
      } else {
        copy.textContent = "Press Ctrl+C (⌘C) to copy";
      }
    }
  });

  // A newly loaded recording starts at the chosen speed; playing one answer pauses the others.
  document.addEventListener("loadedmetadata", function (event) {
    if (event.target.matches && event.target.matches("video[data-review-video]")) {
      event.target.playbackRate = parseFloat(stored());
    }
  }, true);
  document.addEventListener("play", function (event) {
    if (!(event.target.matches && event.target.matches("video[data-review-video]"))) return;
    event.target.playbackRate = parseFloat(stored());
    videos().forEach(function (video) {
      if (video !== event.target && !video.paused) video.pause();
    });
  }, true);

  function start() {
    if (document.querySelector("[data-speed-control]")) applySpeed(stored());
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
