// The console's test call: the browser plays Twilio. It captures the microphone
// (test-call-worklet.js makes 8 kHz μ-law frames), speaks the Media Streams protocol
// (connected, start, media, dtmf, mark, stop) over /console/media, plays the agent's
// μ-law audio in order, echoes each mark once the audio before it has played, and
// honours clear (drops what is queued; pending marks echo at once), like Twilio.
(function () {
  "use strict";
  var root = document.getElementById("test-call");
  if (!root) { return; }
  var csrf = root.dataset.csrf;
  var startButton = document.getElementById("call-start");
  var hangupButton = document.getElementById("call-hangup");
  var statusLine = document.getElementById("call-status");
  var receivedLine = document.getElementById("audio-received");
  var transcript = document.getElementById("live-transcript");
  var callLink = document.getElementById("call-link");
  var draft = document.getElementById("draft");
  var keys = Array.prototype.slice.call(root.querySelectorAll(".key"));

  var call = null; // {id, sid, streamSid, ws, ctx, mic, capture, ...}
  var ULAW = new Float32Array(256);
  (function () { // G.711 μ-law decoding table
    for (var i = 0; i < 256; i++) {
      var u = ~i & 0xff;
      var t = (((u & 0x0f) << 3) + 0x84) << ((u & 0x70) >> 4);
      ULAW[i] = ((u & 0x80) ? 0x84 - t : t - 0x84) / 32768;
    }
  })();

  function say(text) { statusLine.textContent = text; }

  function send(message) {
    if (call && call.ws.readyState === WebSocket.OPEN) {
      call.seq += 1;
      message.sequenceNumber = String(call.seq);
      if (message.event !== "connected") { message.streamSid = call.streamSid; }
      call.ws.send(JSON.stringify(message));
    }
  }

  function base64(bytes) {
    var text = "";
    for (var i = 0; i < bytes.length; i++) { text += String.fromCharCode(bytes[i]); }
    return btoa(text);
  }

  function fromBase64(text) {
    var raw = atob(text);
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) { bytes[i] = raw.charCodeAt(i); }
    return bytes;
  }

  // --- the agent's audio -------------------------------------------------------------

  function play(bytes) {
    var ctx = call.ctx;
    var buffer = ctx.createBuffer(1, bytes.length, 8000);
    var samples = buffer.getChannelData(0);
    for (var i = 0; i < bytes.length; i++) { samples[i] = ULAW[bytes[i]]; }
    var source = ctx.createBufferSource();
    source.buffer = buffer;
    source.connect(ctx.destination);
    var at = Math.max(call.playHead, ctx.currentTime + 0.02);
    source.start(at);
    call.playHead = at + buffer.duration;
    call.sources.push({ source: source, end: call.playHead });
    call.receivedS += buffer.duration;
    receivedLine.textContent = call.receivedS.toFixed(1);
  }

  function echoMarks(all) {
    var now = call.ctx.currentTime;
    while (call.marks.length && (all || call.marks[0].at <= now)) {
      send({ event: "mark", mark: { name: call.marks.shift().name } });
    }
    call.sources = call.sources.filter(function (s) { return s.end > now; });
  }

  function clearPlayback() {
    call.sources.forEach(function (s) { try { s.source.stop(); } catch (e) { /* ended */ } });
    call.sources = [];
    call.playHead = call.ctx.currentTime;
    echoMarks(true);
  }

  function onMessage(event) {
    var message;
    try { message = JSON.parse(event.data); } catch (e) { return; }
    if (message.event === "media" && message.media) {
      play(fromBase64(message.media.payload));
    } else if (message.event === "mark" && message.mark) {
      call.marks.push({ name: message.mark.name, at: call.playHead });
    } else if (message.event === "clear") {
      clearPlayback();
    }
  }

  // --- the transcript, read from the call's record while it lasts --------------------

  function showTranscript(turns) {
    transcript.textContent = "";
    turns.forEach(function (turn) {
      var li = document.createElement("li");
      li.className = "live-turn " + turn.speaker;
      var who = document.createElement("strong");
      who.textContent = turn.speaker === "caller" ? "You: " : "Agent: ";
      li.appendChild(who);
      li.appendChild(document.createTextNode(turn.text));
      transcript.appendChild(li);
    });
  }

  function poll(callId) {
    fetch("/api/v1/calls/" + encodeURIComponent(callId), { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (record) { if (record) { showTranscript(record.transcript || []); } })
      .catch(function () { /* the next poll retries */ });
  }

  // --- starting and ending -------------------------------------------------------------

  function setLive(live) {
    startButton.disabled = live;
    draft.disabled = live;
    hangupButton.disabled = !live;
    keys.forEach(function (k) { k.disabled = !live; });
  }

  function ended(text) {
    if (!call) { return; }
    var done = call;
    call = null;
    setLive(false);
    clearInterval(done.timer);
    done.capture.port.onmessage = null;
    done.mic.getTracks().forEach(function (t) { t.stop(); });
    say(text);
    // The last turns reach the record a moment after the call ends.
    setTimeout(function () { clearInterval(done.poller); poll(done.id); }, 4000);
    // Let the agent's last words finish before the audio stops.
    var left = Math.max(0, done.playHead - done.ctx.currentTime);
    setTimeout(function () { done.ctx.close(); }, left * 1000 + 500);
  }

  function hangUp() {
    if (!call) { return; }
    send({ event: "stop", stop: { accountSid: "", callSid: call.sid } });
    call.ws.close(1000, "caller hung up");
    ended("You hung up.");
  }

  async function start() {
    setLive(true);
    say("Starting…");
    try {
      var drafts = draft.value ? [Number(draft.value)] : [];
      var response = await fetch("/api/v1/test-calls", {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
        body: JSON.stringify({ prompt_version_ids: drafts }),
      });
      var placed = await response.json();
      if (!response.ok) { throw new Error(placed.error || response.statusText); }
      var mic = await navigator.mediaDevices.getUserMedia({
        audio: { echoCancellation: true, noiseSuppression: false, autoGainControl: false },
      });
      var ctx = new AudioContext();
      await ctx.audioWorklet.addModule("/static/test-call-worklet.js");
      var capture = new AudioWorkletNode(ctx, "ulaw-capture");
      ctx.createMediaStreamSource(mic).connect(capture);
      // The graph is pulled from the speakers: a muted path keeps the capture running
      // without playing the caller's own voice back to them.
      var muted = ctx.createGain();
      muted.gain.value = 0;
      capture.connect(muted).connect(ctx.destination);
      var scheme = location.protocol === "https:" ? "wss://" : "ws://";
      var ws = new WebSocket(scheme + location.host + placed.media_path);
      call = {
        id: placed.call_id, sid: placed.call_sid, ws: ws, ctx: ctx, mic: mic, capture: capture,
        streamSid: "MZ" + placed.call_sid.slice(2), seq: 0, chunk: 0, playHead: 0,
        sources: [], marks: [], receivedS: 0, timer: null, poller: null,
      };
      callLink.href = "/calls/" + encodeURIComponent(placed.call_id);
      callLink.hidden = false;
      var live = call;
      ws.onmessage = onMessage;
      ws.onclose = function (event) {
        if (call !== live) { return; }
        var why = event.code === 4000 ? "The agent hung up."
          : event.code === 4001 ? "The agent handed the call to a person."
          : "The call ended (" + (event.reason || event.code) + ").";
        ended(why);
      };
      ws.onopen = function () {
        send({ event: "connected", protocol: "Call", version: "1.0.0" });
        send({
          event: "start",
          start: {
            streamSid: live.streamSid, accountSid: "", callSid: live.sid, tracks: ["inbound"],
            customParameters: { call_id: live.id, token: placed.token },
            mediaFormat: { encoding: "audio/x-mulaw", sampleRate: 8000, channels: 1 },
          },
        });
        capture.port.onmessage = function (frame) {
          if (call !== live) { return; }
          live.chunk += 1;
          send({
            event: "media",
            media: {
              track: "inbound", chunk: String(live.chunk),
              timestamp: String(live.chunk * 20), payload: base64(frame.data),
            },
          });
        };
        live.timer = setInterval(function () { if (call === live) { echoMarks(false); } }, 20);
        live.poller = setInterval(function () { poll(live.id); }, 1000);
        say("Connected: talk to the agent.");
      };
    } catch (error) {
      if (call) { ended("The call failed: " + error.message); } else { setLive(false); }
      say("The call failed: " + error.message);
    }
  }

  startButton.addEventListener("click", start);
  hangupButton.addEventListener("click", hangUp);
  keys.forEach(function (key) {
    key.addEventListener("click", function () {
      send({ event: "dtmf", dtmf: { track: "inbound_track", digit: key.dataset.digit } });
    });
  });
  window.addEventListener("pagehide", hangUp);
})();
