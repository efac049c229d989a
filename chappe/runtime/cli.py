"""The `chappe` command: one entry point for every process role.

`chappe up` is the first-run experience: migrate, create the demo data once, then run
every role as child processes until Ctrl-C. The other sub-commands run one role each, to
be started as many times and on as many machines as needed against one database.

The commands import what needs Django (models, services, the roles built on them) inside
their functions: `main()` calls `django.setup()` first, and an import at the top would
run before it. The SMPP library knows nothing of Django, so the SMSC simulator is
imported here like any module.
"""

import argparse
import asyncio
import json
import os
import signal
import sys
from pathlib import Path

from django.conf import settings

from chappe.smpp.simulator import SimConfig, SmscSimulator


def _default_web_workers() -> int:
    return int(os.environ.get("CHAPPE_WEB_WORKERS") or os.cpu_count() or 1)


def default_gateways() -> int:
    """One gateway per core on PostgreSQL (they share the queue through SKIP LOCKED), one
    on SQLite (embedded mode runs one process per role); CHAPPE_GATEWAYS overrides."""
    from django.db import connection

    if os.environ.get("CHAPPE_GATEWAYS"):
        return int(os.environ["CHAPPE_GATEWAYS"])
    return (os.cpu_count() or 1) if connection.vendor == "postgresql" else 1


def _setup_django(data_dir: str | None) -> None:
    if data_dir:
        os.environ["CHAPPE_DATA_DIR"] = str(Path(data_dir).resolve())
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


def _cmd_up(args: argparse.Namespace) -> int:
    from django.core.management import call_command

    from chappe.runtime.demo import demo_setup
    from chappe.runtime.supervisor import supervise

    call_command("migrate", interactive=False, verbosity=0)
    demo = demo_setup()
    from django.conf import settings

    base = f"http://{args.host}:{args.port}"
    logins = " or ".join(email for _extension, email in demo.agent_logins)
    browser_lines = (f"  browser phone   log in as {logins} / {demo.agent_password} (a private"
                     " window for the second), then My agent status → Use this browser as my"
                     " phone\n") if logins else ""
    agent_lines = "".join(
        f"  agent {extension}       SIP username {username} / password {password} (a softphone"
        " registers with them at the SIP address above)\n"
        for extension, username, password in demo.agents)
    print(
        f"\nChappe is starting on {base}/\n"
        f"  web app         {base}/  (log in as {demo.client_email} / {demo.client_password})\n"
        f"  operator admin  {base}/admin/  ({demo.operator_email} / {demo.operator_password})\n"
        f"  API docs        {base}/api/docs\n"
        f"  demo API key    {demo.api_key}  (also in {demo.api_key_file})\n"
        f"  health          {base}/healthz   metrics {base}/metrics\n"
        f"  SMPP            {args.host}:{settings.CHAPPE_SMPP_PORT}  (system_id "
        f"{demo.smpp_system_id} / password {demo.smpp_password}; more in the web app)\n"
        f"  SIP             {args.host}:{os.environ.get('CHAPPE_VOICE_PORT', '5060')} "
        f"(the demo number {demo.phone_number} answers with an IVR and voicemail)\n"
        f"  SIP carrier     {args.host}:{settings.CHAPPE_SIP_SIM_PORT} (the built-in simulator"
        " the demo trunk calls: voice messages to +33600000101 are answered)\n"
        f"{agent_lines}"
        f"{browser_lines}"
        "Send a first SMS (delivered by the built-in carrier simulator):\n"
        f"  curl -H 'Authorization: Bearer {demo.api_key}' -H 'Content-Type: application/json'"
        f" -d '{{\"recipients\": [\"+33600000001\"], \"text\": \"Hello\", "
        f"\"sender\": \"Chappe\"}}' {base}/api/v1/sms\n"
        "Press Ctrl-C to stop.\n",
        flush=True,
    )
    common = ["--data-dir", str(settings.DATA_DIR)]
    commands = {
        "web": [*common, "web", "--host", args.host, "--port", str(args.port),
                "--workers", str(args.workers)],
        "worker": [*common, "worker"],
        **{f"gateway-{n}" if n else "gateway": [*common, "gateway"]
           for n in range(args.gateways or default_gateways())},
        "smpp-server": [*common, "smpp-server", "--host", args.host],
        "voice": [*common, "voice", "--host", args.host, "--stay-up"],
        "sip-sim": [*common, "sip-sim", "--host", args.host, "--stay-up"],
    }
    return supervise(commands)


def _cmd_web(args: argparse.Namespace) -> int:
    import uvicorn

    uvicorn.run(
        "config.asgi:application",
        host=args.host,
        port=args.port,
        workers=args.workers,
        lifespan="off",
        log_level=os.environ.get("CHAPPE_LOG_LEVEL", "info").lower(),
        proxy_headers=True,
    )
    return 0


def _cmd_worker(args: argparse.Namespace) -> int:
    from chappe.runtime.worker import run_worker

    run_worker(poll_seconds=args.poll)
    return 0


def _cmd_gateway(args: argparse.Namespace) -> int:
    from chappe.runtime.gateway import run_gateway

    run_gateway(poll_seconds=args.poll, batch=args.batch)
    return 0


def _cmd_simulator_mo(args: argparse.Namespace) -> int:
    from chappe.carriers.simulator.connector import simulator_inject_mo

    mo = simulator_inject_mo(connector=args.connector, from_number=args.from_number,
                             to=args.to, text=args.text)
    print(f"MO {mo.carrier_id} queued; the gateway delivers it on its next poll.")
    return 0


def _cmd_smsc_sim(args: argparse.Namespace) -> int:
    credentials = dict(item.split(":", 1) for item in args.credentials or ["chappe:secret"])
    sim = SmscSimulator(SimConfig(
        credentials=credentials, id_format=args.id_format,
        receipt_id_format=args.receipt_id_format, receipt_tlvs=not args.no_receipt_tlvs,
        latency=args.latency, slow_seconds=args.slow_seconds, window=args.window,
        throttle=args.throttle, mute=args.mute, ack_delay=args.ack_delay,
        drop_after_submits=args.drop_after))

    async def serve() -> None:
        port = await sim.start(args.host, args.port)
        if args.port_file:
            Path(args.port_file).write_text(str(port))
        print(f"SMSC simulator listening on {args.host}:{port} "
              f"(system_ids: {', '.join(credentials)})", flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await stop.wait()
        await sim.stop()
        print(json.dumps(sim.snapshot()), flush=True)

    asyncio.run(serve())
    return 0


def _cmd_smpp_server(args: argparse.Namespace) -> int:
    from chappe.smpp_server.protocol import run_server

    run_server(host=args.host, port=args.port, port_file=args.port_file,
               processes=args.processes, accept_threads=args.accept_threads)
    return 0


def _cmd_voice(args: argparse.Namespace) -> int:
    """The engine on the contact center's database directory, handed the TTS channel of
    messaging (the voice messages it calls) and the agents app's phones and queues, wired
    here explicitly."""
    # After django.setup() in main(): the directory's models need the app registry.
    from chappe.agents.crm import DatabaseCrm
    from chappe.agents.desk import QueueDesk
    from chappe.agents.selectors import agent_sip_credentials
    from chappe.callcenter.directory import DjangoDirectory
    from chappe.messaging.services.tts import TtsCalls
    from chappe.queue.jobs import worker_id

    # Only the voice role loads the SIP stack (each role here imports only its own).
    from chappe.voice.engine import run_voice

    directory = DjangoDirectory(data_dir=settings.DATA_DIR,
                                default_country=settings.CHAPPE_DEFAULT_COUNTRY,
                                message_calls=TtsCalls(worker=f"voice:{worker_id()}"),
                                phone_users=agent_sip_credentials,
                                queue_desk=QueueDesk())
    # The accounts' CRM web services, asked on each inbound call (decision 0042).
    directory.crm = DatabaseCrm()  # type: ignore[attr-defined]
    run_voice(directory=directory, auth_secret=settings.SECRET_KEY.encode(), host=args.host,
              port=args.port, answer_after=args.answer_after, port_file=args.port_file,
              stay_up=args.stay_up,
              control=(settings.CHAPPE_VOICE_CONTROL_HOST, settings.CHAPPE_VOICE_CONTROL_PORT),
              ice_servers=settings.CHAPPE_WEBRTC_ICE_SERVERS)
    return 0


def _cmd_sip_sim(args: argparse.Namespace) -> int:
    from chappe.voice.simulator import run_sip_sim

    run_sip_sim(host=args.host, port=args.port, port_file=args.port_file,
                no_answer_after=args.no_answer_after, stay_up=args.stay_up)
    return 0


def _cmd_createoperator(args: argparse.Namespace) -> int:
    import getpass

    from django.contrib.auth.password_validation import validate_password
    from django.core.exceptions import ValidationError

    from chappe.accounts.models import User

    password = args.password or os.environ.get("CHAPPE_OPERATOR_PASSWORD")
    if not password:
        password = getpass.getpass("Password: ")
    try:
        validate_password(password)
    except ValidationError as exc:
        print("\n".join(exc.messages), file=sys.stderr)
        return 2
    if User.objects.filter(email=args.email.lower()).exists():
        print(f"A user {args.email} already exists.", file=sys.stderr)
        return 2
    User.objects.create_superuser(args.email, password)
    print(f"Operator {args.email} created.")
    return 0


def _cmd_manage(args: argparse.Namespace) -> int:
    from django.core.management import execute_from_command_line

    execute_from_command_line(["chappe manage", *args.rest])
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="chappe",
        description="Chappe: business messaging and cloud contact center.",
    )
    parser.add_argument("--data-dir", help="where embedded data lives (CHAPPE_DATA_DIR)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    up = sub.add_parser("up", help="migrate, create demo data, run every role until Ctrl-C")
    web = sub.add_parser("web", help="serve the web app and the API (ASGI)")
    for role_parser in (up, web):
        role_parser.add_argument("--host", default=os.environ.get("CHAPPE_HOST", "127.0.0.1"))
        role_parser.add_argument("--port", type=int,
                                 default=int(os.environ.get("CHAPPE_PORT", "8000")))
        role_parser.add_argument(
            "--workers", type=int, default=_default_web_workers(),
            help="web processes sharing the port (CHAPPE_WEB_WORKERS; default: one per core)")
    up.add_argument("--gateways", type=int,
                    help="gateway processes (CHAPPE_GATEWAYS; default: one per core on "
                         "PostgreSQL, one on SQLite)")
    up.set_defaults(func=_cmd_up)
    web.set_defaults(func=_cmd_web)

    worker = sub.add_parser("worker", help="run queued jobs (e-mails, webhooks, billing runs)")
    worker.add_argument("--poll", type=float, default=1.0, help="idle poll interval, seconds")
    worker.set_defaults(func=_cmd_worker)

    gateway = sub.add_parser("gateway", help="dispatch messages to carriers, collect receipts")
    gateway.add_argument("--poll", type=float, default=0.2, help="idle poll interval, seconds")
    gateway.add_argument("--batch", type=int, default=500, help="messages claimed at a time")
    gateway.set_defaults(func=_cmd_gateway)

    mo = sub.add_parser("simulator-mo", help="make the carrier simulator deliver a reply (MO)")
    mo.add_argument("--from", dest="from_number", required=True, help="the handset, E.164")
    mo.add_argument("--to", required=True, help="the sender or short code it replies to")
    mo.add_argument("--text", required=True)
    mo.add_argument("--connector", default="simulator")
    mo.set_defaults(func=_cmd_simulator_mo)

    sim = sub.add_parser("smsc-sim", help="run the SMSC simulator (a carrier over SMPP 3.4)")
    sim.add_argument("--host", default="127.0.0.1")
    sim.add_argument("--port", type=int, default=2776)
    sim.add_argument("--port-file", help="write the listening port here (with --port 0)")
    sim.add_argument("--credentials", action="append", default=[],
                     help="system_id:password accepted for binds (repeatable; "
                          "default chappe:secret)")
    sim.add_argument("--id-format", choices=["hex", "decimal"], default="hex")
    sim.add_argument("--receipt-id-format", choices=["hex", "decimal"],
                     help="ids in receipt texts (default: as --id-format)")
    sim.add_argument("--no-receipt-tlvs", action="store_true",
                     help="receipts without receipted_message_id/message_state TLVs")
    sim.add_argument("--latency", type=float, default=0.05, help="seconds before a receipt")
    sim.add_argument("--slow-seconds", type=float, default=120.0)
    sim.add_argument("--window", type=int, default=50)
    sim.add_argument("--throttle", action="store_true", help="answer ESME_RTHROTTLED")
    sim.add_argument("--mute", action="store_true", help="never answer submit_sm")
    sim.add_argument("--ack-delay", type=float, default=0.0, help="seconds before each ack")
    sim.add_argument("--drop-after", type=int, help="drop the bind after N submit_sm")
    sim.set_defaults(func=_cmd_smsc_sim)

    smpp = sub.add_parser("smpp-server", help="accept SMPP binds from client accounts")
    smpp.add_argument("--host", default=os.environ.get("CHAPPE_SMPP_HOST", "127.0.0.1"))
    smpp.add_argument("--port", type=int, default=int(os.environ.get("CHAPPE_SMPP_PORT", "2775")))
    smpp.add_argument("--port-file", help="write the listening port here (with --port 0)")
    smpp.add_argument("--processes", type=int, default=1,
                      help="server processes sharing the port (SO_REUSEPORT), e.g. one "
                           "per core")
    smpp.add_argument("--accept-threads", type=int, default=1, choices=(1, 2),
                      help="accept batches at once (PostgreSQL): 2 when the database is "
                           "far (round trips), 1 costs the least CPU")
    smpp.set_defaults(func=_cmd_smpp_server)

    voice = sub.add_parser("voice", help="the SIP voice engine (UDP and TCP): IVR, voicemail")
    voice.add_argument("--host", default=os.environ.get("CHAPPE_VOICE_HOST", "127.0.0.1"))
    voice.add_argument("--port", type=int, default=int(os.environ.get("CHAPPE_VOICE_PORT", "5060")))
    voice.add_argument("--port-file", help="write the listening port here (with --port 0)")
    voice.add_argument("--answer-after", type=float, default=0.5,
                       help="seconds of ringing before answering")
    voice.add_argument("--stay-up", action="store_true",
                       help="if the port is taken, log it and idle instead of exiting")
    voice.set_defaults(func=_cmd_voice)

    sip_sim = sub.add_parser("sip-sim", help="run the voice carrier simulator (real SIP; "
                                             "test numbers in the README)")
    sip_sim.add_argument("--host", default="127.0.0.1")
    sip_sim.add_argument("--port", type=int,
                         default=int(os.environ.get("CHAPPE_SIP_SIM_PORT", "5070")))
    sip_sim.add_argument("--port-file", help="write the listening port here (with --port 0)")
    sip_sim.add_argument("--no-answer-after", type=float, default=5.0,
                         help="seconds +33600000103 rings before 480")
    sip_sim.add_argument("--stay-up", action="store_true",
                         help="if the port is taken, log it and idle instead of exiting")
    sip_sim.set_defaults(func=_cmd_sip_sim)

    operator = sub.add_parser("createoperator", help="create an operator (back-office) login")
    operator.add_argument("--email", required=True)
    operator.add_argument("--password", help="else CHAPPE_OPERATOR_PASSWORD, else prompted")
    operator.set_defaults(func=_cmd_createoperator)

    manage = sub.add_parser("manage", help="run a Django management command")
    manage.add_argument("rest", nargs=argparse.REMAINDER)
    manage.set_defaults(func=_cmd_manage)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _setup_django(args.data_dir)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
