/* The public site's player: speed, chapters, transcript that follows playback and searches,
   and the "Copy feed URL" button. Plain JavaScript, no inline code (the page's CSP forbids it). */
(function () {
  "use strict";

  function clock(seconds) {
    var s = Math.max(0, Math.floor(seconds || 0));
    var h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
    var mm = h ? String(m).padStart(2, "0") : String(m);
    return (h ? h + ":" : "") + mm + ":" + String(r).padStart(2, "0");
  }

  function setUpPlayer(player) {
    var audio = player.querySelector("audio");
    if (!audio) return;
    var scope = player.closest("main") || document;
    var speed = player.querySelector("[data-speed]");
    var position = player.querySelector("[data-position]");
    var chapters = Array.prototype.slice.call(scope.querySelectorAll(".chapter[data-seek]"));
    var transcript = scope.querySelector("[data-transcript]");
    var cues = transcript ? Array.prototype.slice.call(transcript.querySelectorAll(".cue")) : [];
    var follow = transcript ? transcript.querySelector("[data-follow]") : null;
    var currentCue = null;

    if (speed) {
      speed.addEventListener("change", function () {
        audio.playbackRate = parseFloat(speed.value) || 1;
      });
      audio.addEventListener("ratechange", function () {
        var value = String(audio.playbackRate);
        if (speed.value !== value && speed.querySelector('option[value="' + value + '"]')) {
          speed.value = value;
        }
      });
    }

    // Any [data-seek] control (a chapter, a transcript line's time) jumps there and plays.
    scope.addEventListener("click", function (event) {
      var target = event.target.closest("[data-seek]");
      if (!target || !scope.contains(target)) return;
      audio.currentTime = parseFloat(target.getAttribute("data-seek")) || 0;
      var playing = audio.play();
      if (playing && playing.catch) playing.catch(function () {});
    });

    function onTime() {
      var t = audio.currentTime;
      if (position) position.textContent = clock(t) + (isFinite(audio.duration) ? " / " + clock(audio.duration) : "");
      var active = null;
      chapters.forEach(function (c) {
        if (parseFloat(c.getAttribute("data-seek")) <= t + 0.05) active = c;
      });
      chapters.forEach(function (c) {
        if (c === active) c.setAttribute("aria-current", "true");
        else c.removeAttribute("aria-current");
      });
      var cue = null;
      for (var i = 0; i < cues.length; i++) {
        var start = parseFloat(cues[i].getAttribute("data-start"));
        var end = parseFloat(cues[i].getAttribute("data-end"));
        if (t + 0.05 >= start && t < end) { cue = cues[i]; break; }
      }
      if (cue !== currentCue) {
        if (currentCue) { currentCue.classList.remove("current"); currentCue.removeAttribute("aria-current"); }
        if (cue) {
          cue.classList.add("current");
          cue.setAttribute("aria-current", "true");
          if (follow && follow.checked && !cue.hidden) {
            var box = cue.parentElement;
            box.scrollTop = cue.offsetTop - box.offsetTop - box.clientHeight / 3;
          }
        }
        currentCue = cue;
      }
    }
    audio.addEventListener("timeupdate", onTime);
    audio.addEventListener("seeked", onTime);
    audio.addEventListener("loadedmetadata", onTime);

    var search = transcript ? transcript.querySelector("[data-transcript-search]") : null;
    var count = transcript ? transcript.querySelector("[data-match-count]") : null;
    if (search) {
      search.addEventListener("input", function () {
        var q = search.value.trim().toLowerCase();
        var shown = 0;
        cues.forEach(function (cue) {
          var text = cue.querySelector(".text");
          var plain = text.textContent;
          text.textContent = plain; // drop earlier <mark>s
          var at = q ? plain.toLowerCase().indexOf(q) : -1;
          cue.hidden = !!q && at < 0;
          if (at >= 0) {
            var mark = document.createElement("mark");
            mark.textContent = plain.slice(at, at + q.length);
            text.textContent = "";
            text.append(plain.slice(0, at), mark, plain.slice(at + q.length));
          }
          if (!cue.hidden) shown++;
        });
        if (count) count.textContent = q ? shown + (shown === 1 ? " line matches" : " lines match") : "";
      });
    }
  }

  function setUpCopy(button) {
    var status = button.parentElement.querySelector(".copy-status");
    button.addEventListener("click", function () {
      var input = document.querySelector(button.getAttribute("data-copy"));
      if (!input) return;
      function done(ok) {
        if (status) status.textContent = ok ? "Copied." : "Select the address and copy it.";
      }
      input.select();
      if (navigator.clipboard && navigator.clipboard.writeText) {
        navigator.clipboard.writeText(input.value).then(function () { done(true); }, function () { done(false); });
      } else {
        done(false);
      }
    });
  }

  document.querySelectorAll("[data-player]").forEach(setUpPlayer);
  document.querySelectorAll("[data-copy]").forEach(setUpCopy);
})();
