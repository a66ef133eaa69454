// The call page: the transcript follows the recording's playback, and a click on a
// turn plays from there. Turn times are on the same stream timeline as the recording.
(function () {
  "use strict";
  var player = document.getElementById("player");
  if (!player) { return; }
  var turns = Array.prototype.slice.call(document.querySelectorAll("#transcript li[data-start-ms]"));
  var current = null;

  function follow() {
    var ms = player.currentTime * 1000;
    var found = null;
    turns.forEach(function (li) {
      var start = Number(li.dataset.startMs);
      var end = li.dataset.endMs ? Number(li.dataset.endMs) : start + 1000;
      if (ms >= start && ms < end) { found = li; }
    });
    if (found === current) { return; }
    if (current) { current.classList.remove("playing"); current.removeAttribute("aria-current"); }
    current = found;
    if (current) {
      current.classList.add("playing");
      current.setAttribute("aria-current", "true");
      if (current.scrollIntoView) { current.scrollIntoView({ block: "nearest" }); }
    }
  }

  player.addEventListener("timeupdate", follow);
  player.addEventListener("seeked", follow);
  turns.forEach(function (li) {
    var time = li.querySelector(".time");
    if (!time) { return; }
    var button = document.createElement("button");
    button.type = "button";
    button.className = "link seek";
    button.textContent = time.textContent;
    button.setAttribute("aria-label", "Play from " + time.textContent);
    button.addEventListener("click", function () {
      player.currentTime = Number(li.dataset.startMs) / 1000;
      player.play();
    });
    time.textContent = "";
    time.appendChild(button);
  });
}());
