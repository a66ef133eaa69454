"""`callcenter simulate` (play a caller against a running server) and `callcenter call`
(place a real outbound call through Twilio's REST API)."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from callcenter.settings import Settings


def register(commands: Any) -> None:
    sim = commands.add_parser(
        "simulate", help="play Twilio against a running server (signed webhook + media stream)"
    )
    sim.add_argument("--url", default=None, help="server base URL (default: CALLCENTER_PUBLIC_URL)")
    sim.add_argument(
        "--public-url",
        default=None,
        help="URL to sign as Twilio would (default: --url); e.g. your tunnel URL",
    )
    source = sim.add_mutually_exclusive_group()
    source.add_argument("--script", type=Path, help="timeline JSON (see simulator/script.py)")
    source.add_argument("--wav", type=Path, help="one caller turn from a WAV of any rate")
    source.add_argument("--text", help="one caller turn synthesised with Piper")
    sim.add_argument("--speed", type=float, default=1.0, help=">1 runs faster than real time")
    sim.add_argument("--record", type=Path, help="write what the caller heard to this WAV")
    sim.add_argument("--auth-token", default=None, help="default: CALLCENTER_TWILIO_AUTH_TOKEN")
    sim.add_argument("--from", dest="from_number", default="+15550001111")
    sim.add_argument("--max-seconds", type=float, default=300.0)
    sim.add_argument(
        "--answer-timeout",
        type=float,
        default=45.0,
        help="longest wait (s) for the agent's answer before hanging up",
    )
    sim.add_argument("--summary", action="store_true", help="print turns only, not every event")
    sim.set_defaults(handler=cmd_simulate)

    call = commands.add_parser("call", help="place an outbound call (Twilio REST) to a number")
    call.add_argument("to", help="E.164 number, e.g. +15551234567")
    call.add_argument(
        "--from", dest="from_number", default=None, help="default: CALLCENTER_TWILIO_CALLER_ID"
    )
    call.set_defaults(handler=cmd_call)


def _steps(args: argparse.Namespace) -> list[Any]:
    from callcenter.simulator import script as sc

    greeting = sc.WaitAgent(quiet_ms=800)
    # The answer, not the backchannel ("Got it.") that may fill the wait for it: at least
    # 1.2 s of agent speech, then 1.2 s of quiet; --answer-timeout bounds the wait.
    reply = sc.WaitAgent(
        quiet_ms=1200, timeout_ms=int(args.answer_timeout * 1000), min_speech_ms=1200
    )
    if args.script:
        return sc.load_script(args.script)
    if args.wav:
        return [greeting, sc.Say(wav=str(args.wav)), reply]
    if args.text:
        return [greeting, sc.Say(text=args.text), reply]
    return [greeting, sc.Silence(1000)]


def cmd_simulate(args: argparse.Namespace, settings: Settings) -> int:
    from callcenter.simulator.caller import SimulationOptions, run_call

    url = (args.url or settings.public_url).rstrip("/")
    options = SimulationOptions(
        auth_token=args.auth_token or settings.twilio_auth_token,
        account_sid=settings.twilio_account_sid,
        public_url=args.public_url or (settings.public_url if not args.url else None),
        from_number=args.from_number,
        to_number=settings.twilio_caller_id,
        speed=args.speed,
        max_call_ms=int(args.max_seconds * 1000),
    )
    result = asyncio.run(run_call(url, _steps(args), options))
    if args.record:
        result.write_wav(args.record)
    data = result.to_dict()
    if args.summary:
        data.pop("events")
    json.dump(data, sys.stdout, indent=2, default=str)
    print()
    return 0 if result.answer == "stream" and not result.twilio_errors else 1


def cmd_call(args: argparse.Namespace, settings: Settings) -> int:
    from callcenter.telephony.rest import CallControl
    from callcenter.telephony.twiml import STATUS_PATH, VOICE_PATH, public_url

    control = CallControl(settings)
    placed = asyncio.run(
        control.create_call(
            args.to,
            args.from_number,
            url=public_url(settings, VOICE_PATH),
            status_callback=public_url(settings, STATUS_PATH),
        )
    )
    print(json.dumps({"call_sid": placed.call_sid, "status": placed.status}))
    return 0
