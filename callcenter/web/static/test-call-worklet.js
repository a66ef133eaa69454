// The audio thread of the test call: microphone samples at the context's rate ->
// low-pass below 4 kHz -> 8 kHz -> G.711 μ-law, posted as 20 ms frames (160 bytes).
"use strict";

function lowpassTaps(cutoff, length) {
  // Windowed sinc (Blackman), unity gain at DC; cutoff as a fraction of the input rate.
  var taps = new Float32Array(length);
  var middle = (length - 1) / 2;
  var sum = 0;
  for (var i = 0; i < length; i++) {
    var x = i - middle;
    var sinc = x === 0 ? 2 * cutoff : Math.sin(2 * Math.PI * cutoff * x) / (Math.PI * x);
    var window = 0.42 - 0.5 * Math.cos((2 * Math.PI * i) / (length - 1)) +
      0.08 * Math.cos((4 * Math.PI * i) / (length - 1));
    taps[i] = sinc * window;
    sum += taps[i];
  }
  for (var j = 0; j < length; j++) { taps[j] /= sum; }
  return taps;
}

function ulawByte(sample) {
  // G.711 μ-law of one sample in [-1, 1] (the reference algorithm on 16-bit PCM).
  var pcm = Math.max(-32768, Math.min(32767, Math.round(sample * 32767)));
  var sign = pcm < 0 ? 0x80 : 0;
  if (sign) { pcm = -pcm; }
  pcm = Math.min(pcm, 32635) + 0x84;
  var exponent = 7;
  for (var mask = 0x4000; (pcm & mask) === 0 && exponent > 0; mask >>= 1) { exponent--; }
  var mantissa = (pcm >> (exponent + 3)) & 0x0f;
  return ~(sign | (exponent << 4) | mantissa) & 0xff;
}

class UlawCapture extends AudioWorkletProcessor {
  constructor() {
    super();
    this.step = sampleRate / 8000; // input samples per output sample (6 at 48 kHz)
    var length = Math.max(31, Math.round(this.step * 10) | 1);
    this.taps = lowpassTaps(3600 / sampleRate, length);
    this.history = new Float32Array(length * 2); // doubled ring: one contiguous window
    this.at = 0;
    this.due = 0;
    this.frame = new Uint8Array(160);
    this.filled = 0;
  }

  process(inputs) {
    var channel = inputs[0] && inputs[0][0];
    if (!channel) { return true; }
    var n = this.taps.length;
    for (var i = 0; i < channel.length; i++) {
      this.history[this.at] = channel[i];
      this.history[this.at + n] = channel[i];
      this.at = (this.at + 1) % n;
      this.due -= 1;
      if (this.due > 0) { continue; }
      this.due += this.step;
      var acc = 0;
      for (var k = 0; k < n; k++) { acc += this.taps[k] * this.history[this.at + k]; }
      this.frame[this.filled++] = ulawByte(acc);
      if (this.filled === 160) {
        this.port.postMessage(this.frame.slice(0));
        this.filled = 0;
      }
    }
    return true;
  }
}

registerProcessor("ulaw-capture", UlawCapture);
