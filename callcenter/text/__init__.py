"""Words as callers say and key them: digits, dates, amounts, yes and no (pure text, no I/O)."""
