"""SIP load benchmark of the voice engine, driven by SIPp (Debian `sip-tester`).

    .venv/bin/python bench/sip_load.py                # both benchmarks, default settings
    .venv/bin/python bench/sip_load.py --rates 50,100,200 --calls 2000
    .venv/bin/python bench/sip_load.py --concurrent 50,100,200,300 --hold 10

(a) signalling rate: SIPp's built-in `uac` calls an IVR that answers, plays a short
    prompt and hangs up (the engine sends the BYE); for each rate, the failed-call share.
    The max rate is the highest with < 0.1 % failures.
(b) concurrent calls with media: N calls held open for --hold seconds while the engine
    streams a prompt to each; reports the engine's late RTP frames (a frame sent more
    than one packet time after its due time) per N.

The engine runs in a child process (`chappe voice`) on a throw-away SQLite data dir with
a migrated database and one rented number, so the figures include the database work of
each call (number lookup, call record). Prints its figures; nothing is asserted.
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = str(ROOT / ".venv" / "bin" / "python")
NUMBER = "33189000001"
# INVITE → 200 → ACK, then the engine plays its prompt and sends the BYE.
SCENARIO = ROOT / "tests" / "voice" / "sipp" / "engine_hangs_up.xml"

SETUP = """
import django, json, sys
django.setup()
from django.core.management import call_command
call_command("migrate", interactive=False, verbosity=0)
from chappe.accounts.actor import SYSTEM
from chappe.accounts.models import ServiceKind
from chappe.accounts.services import account_create, service_order
from chappe.callcenter.services import (catalogue_number_add, flow_create, number_assign,
                                        number_buy)
account = account_create(actor=SYSTEM, name="Bench")
service_order(actor=SYSTEM, account=account, kind=ServiceKind.CONTACT_CENTER)
actor = SYSTEM.on(account)
number = catalogue_number_add(e164="+" + sys.argv[2], number_type="geographic",
                              monthly_price_micros=0)
rental = number_buy(actor=actor, account=account, number_id=number.pk)
flow = flow_create(actor=actor, account=account, name="bench", definition=json.loads(sys.argv[1]))
number_assign(actor=actor, account=account, rental_id=rental.pk, flow_id=flow.pk)
"""


def flow(seconds_text: str) -> dict:
    return {"start": "p", "nodes": {"p": {"type": "play", "prompt": {"text": seconds_text,
                                                                      "language": "en"}}}}


class Engine:
    def __init__(self, data_dir: Path, definition: dict) -> None:
        self.env = {**os.environ, "CHAPPE_DATA_DIR": str(data_dir),
                    "DJANGO_SETTINGS_MODULE": "config.settings", "CHAPPE_LOG_LEVEL": "INFO"}
        self.env.pop("CHAPPE_DATABASE_URL", None)
        subprocess.run([PY, "-c", SETUP, json.dumps(definition), NUMBER], check=True, cwd=ROOT,
                       env=self.env)
        self.port_file = data_dir / "voice.port"
        self.log = data_dir / "voice.log"
        self._log_offset = 0
        self.proc = subprocess.Popen(
            [PY, "-m", "chappe.runtime.cli", "voice", "--port", "0", "--answer-after", "0",
             "--port-file", str(self.port_file)], cwd=ROOT, env=self.env,
            stdout=subprocess.DEVNULL, stderr=self.log.open("w"))
        deadline = time.monotonic() + 20
        while not self.port_file.exists() or not self.port_file.read_text():
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise SystemExit("the voice engine did not start")
            time.sleep(0.1)
        self.port = int(self.port_file.read_text())

    def media_since_last(self) -> tuple[int, int, int]:
        """(calls, RTP frames sent, late frames) logged since the previous call."""
        text = self.log.read_text(errors="replace")[self._log_offset:]
        self._log_offset += len(text)
        found = re.findall(r"rtp frames sent (\d+), late (\d+)", text)
        return (len(found), sum(int(a) for a, _ in found), sum(int(b) for _, b in found))

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(15)


def _epoch(cell: str) -> float:
    return float(cell.split("\t")[-1])  # "date\ttime\tepoch" in SIPp's stats


def _duration(cell: str) -> float:
    hours, minutes, seconds, micros = (int(part) for part in cell.split(":"))
    return hours * 3600 + minutes * 60 + seconds + micros / 1e6


def sipp(port: int, calls: int, rate: int, limit: int, workdir: Path, timeout: int) -> dict:
    """Run the engine_hangs_up scenario; returns SIPp's counters, the rate at which the
    calls were actually placed (SIPp itself may fall behind on a busy machine) and the
    mean time to the 200 OK."""
    stats = workdir / "stats.csv"
    stats.unlink(missing_ok=True)
    command = ["sipp", f"127.0.0.1:{port}", "-sf", str(SCENARIO), "-s", NUMBER,
               "-i", "127.0.0.1", "-p", "0", "-m", str(calls), "-r", str(rate),
               "-l", str(limit), "-timeout", str(timeout), "-nostdin", "-trace_stat",
               "-stf", str(stats), "-fd", "1", "-max_socket", "4096",
               "-recv_timeout", "10000"]
    started = time.monotonic()
    subprocess.run(command, cwd=workdir, capture_output=True, timeout=timeout + 30)
    elapsed = time.monotonic() - started
    lines = stats.read_text().splitlines() if stats.exists() else []
    if len(lines) < 2:
        return {"successful": 0, "failed": calls, "elapsed": elapsed, "placed_rate": 0.0,
                "answer_ms": 0.0}
    header = lines[0].split(";")
    rows = [dict(zip(header, line.split(";"), strict=False)) for line in lines[1:]]
    last = rows[-1]
    # The first once-a-second row where every call had been placed: a lower bound.
    placed = next((r for r in rows if int(r["TotalCallCreated"]) >= calls), last)
    placing = _epoch(placed["CurrentTime"]) - _epoch(placed["StartTime"])
    return {"successful": int(last.get("SuccessfulCall(C)", 0)),
            "failed": int(last.get("FailedCall(C)", 0)), "elapsed": elapsed,
            "placed_rate": int(placed["TotalCallCreated"]) / max(placing, 1e-9),
            "answer_ms": _duration(last.get("ResponseTime1(C)", "0:0:0:0")) * 1000}


def bench_rate(rates: list[int], calls: int, workdir: Path) -> None:
    engine = Engine(workdir / "rate", flow("Hi."))
    try:
        print(f"(a) signalling: sipp -sf {SCENARIO.name} -m {calls} -r R "
              f"(a ~0.8 s prompt, the engine hangs up) → engine on :{engine.port}")
        print("    rate/s  placed/s   ok     failed  fail%   to 200 ms  wall s  engine CPU s")
        # Warm-up, not counted: the first call renders the prompt (espeak-ng) and opens
        # the database connection while the next ones queue behind it.
        sipp(engine.port, 20, 10, 20, workdir, timeout=30)
        engine.media_since_last()
        best = (0, 0.0)
        for rate in rates:
            cpu = engine.cpu_seconds()
            result = sipp(engine.port, calls, rate, rate * 4, workdir,
                          timeout=int(calls / rate) + 30)
            engine.media_since_last()
            cpu = engine.cpu_seconds() - cpu
            total = result["successful"] + result["failed"]
            share = 100 * result["failed"] / max(total, 1)
            missing = calls - total
            print(f"    {rate:6d}  {result['placed_rate']:8.1f} {result['successful']:6d} "
                  f"{result['failed'] + missing:6d}  {share:5.2f}  {result['answer_ms']:9.1f}"
                  f"  {result['elapsed']:7.1f}  {cpu:6.1f}")
            if share < 0.1 and missing == 0:
                best = (rate, result["placed_rate"])
        print(f"    max rate with < 0.1 % failures: {best[0]} calls/s asked, "
              f"{best[1]:.0f} calls/s placed by SIPp")
    finally:
        engine.stop()


def bench_concurrent(levels: list[int], hold_s: int, workdir: Path) -> None:
    engine = Engine(workdir / "media", flow("One two three four five six seven eight nine "
                                            "ten. " * max(hold_s // 3, 1)))
    try:
        print("(b) media: N calls started at N/2 calls/s, each streamed the same prompt "
              "(20 ms PCMA/PCMU frames) until the engine hangs up")
        print("    N      ok     failed  frames sent  late frames  late %  engine CPU s")
        for level in levels:
            cpu = engine.cpu_seconds()
            result = sipp(engine.port, level, max(level // 2, 1), level, workdir,
                          timeout=hold_s * 4 + level // 10 + 30)
            cpu = engine.cpu_seconds() - cpu
            _calls, sent, late = engine.media_since_last()
            print(f"    {level:5d} {result['successful']:6d} {result['failed']:6d}  {sent:11d}"
                  f"  {late:11d}  {100 * late / max(sent, 1):5.2f}  {cpu:8.1f}")
    finally:
        engine.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rates", default="25,50,100,200")
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--concurrent", default="50,100,200,300")
    parser.add_argument("--hold", type=int, default=8)
    parser.add_argument("--only", choices=["rate", "media"])
    args = parser.parse_args()
    if not shutil.which("sipp"):
        print("sipp not found: apt-get install sip-tester", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="chappe-sip-bench-") as tmp:
        workdir = Path(tmp)
        for sub in ("rate", "media"):
            (workdir / sub).mkdir()
        if args.only in (None, "rate"):
            bench_rate([int(r) for r in args.rates.split(",")], args.calls, workdir)
        if args.only in (None, "media"):
            bench_concurrent([int(n) for n in args.concurrent.split(",")], args.hold, workdir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
