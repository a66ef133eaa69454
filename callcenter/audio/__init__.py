"""Audio primitives: G.711 μ-law, resampling, frames, voice activity detection."""
