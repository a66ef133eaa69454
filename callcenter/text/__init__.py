"""Text as callers say it and keys type it: a leaf package shared by ASR, tools and dialogue."""
