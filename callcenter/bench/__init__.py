"""`callcenter bench`: measurements with the real embedded models (not tests).

Everything runs over loopback: the simulator plays Twilio against an in-process app that
runs the same code as production. Results go to JSON and a PNG chart.
"""
