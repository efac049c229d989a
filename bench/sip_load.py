"""SIP load benchmark of the voice engine, driven by SIPp (Debian `sip-tester`).

    .venv/bin/python bench/sip_load.py                # both benchmarks, default settings
    .venv/bin/python bench/sip_load.py --rates 50,100,200 --calls 2000
    .venv/bin/python bench/sip_load.py --concurrent 50,100,200,300 --hold 10
    .venv/bin/python bench/sip_load.py --queue --agents 100 --queue-rates 5,10,20 --queue-calls 1000

(a) signalling rate: SIPp's built-in `uac` calls an IVR that answers, plays a short
    prompt and hangs up (the engine sends the BYE); for each rate, the failed-call share.
    The max rate is the highest with < 0.1 % failures.
(b) concurrent calls with media: N calls held open for --hold seconds while the engine
    streams a prompt to each; reports the engine's late RTP frames (a frame sent more
    than one packet time after its due time) per N.
(c) queue (--queue, alone; one run per rate of --queue-rates): SIPp callers call a number
    whose flow is one `queue` step; --agents agents (wrap-up 0, logged in, members of the
    queue) have registered their phones over SIP with their digest credentials, all from
    one SIPp (an injection file) whose port one SIPp UAS then answers on: each offered
    call is answered at once, talked over for --talk seconds and hung up by the agent,
    and the engine ends the caller's call. Reports the callers connected to an agent per
    second, the most callers waiting at once (from the queue log), their waits, and the
    failure share: callers that SIPp saw fail, or that no agent talked to.

The engine runs in a child process (`chappe voice`) on a throw-away SQLite data dir with
a migrated database and one rented number, so the figures include the database work of
each call (number lookup, call record). Prints its figures; nothing is asserted.
"""

import argparse
import contextlib
import json
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = str(ROOT / ".venv" / "bin" / "python")
NUMBER = "33189000001"
# INVITE → 200 → ACK, then the engine plays its prompt and sends the BYE.
SCENARIO = ROOT / "tests" / "voice" / "sipp" / "engine_hangs_up.xml"

SIPP_DIR = ROOT / "bench" / "sipp"

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

# The queue scenario's database: agents (wrap-up 0, logged in, as many licences), one
# longest-idle queue of them all, the number routed straight to it; their SIP usernames
# and passwords written to an injection file for SIPp (an authentication keyword a
# line); prints the queue's id.
QUEUE_SETUP = """
import django, sys
django.setup()
from django.core.management import call_command
call_command("migrate", interactive=False, verbosity=0)
from chappe.accounts.actor import SYSTEM
from chappe.accounts.models import ServiceKind, User
from chappe.accounts.roles import Role
from chappe.accounts.services import account_create, service_order
from chappe.agents.services.licences import licences_set
from chappe.agents.services.setup import (MemberDraft, agent_create,
                                          agent_sip_password_reset, queue_create,
                                          queue_number_route)
from chappe.agents.services.states import agent_state_set
from chappe.callcenter.services import catalogue_number_add, number_buy
e164, count, credentials = "+" + sys.argv[1], int(sys.argv[2]), sys.argv[3]
account = account_create(actor=SYSTEM, name="Bench")
service_order(actor=SYSTEM, account=account, kind=ServiceKind.CONTACT_CENTER)
actor = SYSTEM.on(account)
# Licences of an account without a subscription are paid from credit: free ones here.
from datetime import UTC, datetime
from chappe.billing.services import price_list_create, price_list_version_create
prices = price_list_create(actor=SYSTEM, code="bench", name="Bench", is_default=True)
price_list_version_create(actor=SYSTEM, price_list=prices,
                          prices=[{"product": "licence", "unit_price": "0"}],
                          effective_from=datetime(2020, 1, 1, tzinfo=UTC))
licences_set(actor=actor, account=account, licences=count)
agents = []
for i in range(count):
    user = User.objects.create_user(f"agent{i}@bench.example", None, account=account,
                                    role=Role.AGENT)  # no password: no hashing to wait for
    agent = agent_create(actor=actor, account=account, user_id=user.pk,
                         extension=str(1000 + i), wrap_up_seconds=0)
    while agent.sip_password.lower().startswith("0x"):  # SIPp would read it as hex
        agent = agent_sip_password_reset(actor=actor, account=account, agent=agent)
    agents.append(agent_state_set(actor=actor, account=account, agent=agent,
                                  state="available"))
queue = queue_create(actor=actor, account=account, fields={"name": "Bench"},
                     members=[MemberDraft(a.pk) for a in agents])
number = catalogue_number_add(e164=e164, number_type="geographic", monthly_price_micros=0)
rental = number_buy(actor=actor, account=account, number_id=number.pk)
queue_number_route(actor=actor, account=account, queue=queue, rental_id=rental.pk)
with open(credentials, "w") as out:
    out.write("SEQUENTIAL\\n")
    out.writelines(f"{a.sip_username};[authentication username={a.sip_username} "
                   f"password={a.sip_password}]\\n" for a in agents)
print(queue.pk)
"""

# After a queue run: the queue log and the call records of the calls that entered the
# queue after the time given (epoch seconds), as JSON.
QUEUE_REPORT = """
import django, json, sys
django.setup()
from collections import Counter
from datetime import UTC, datetime
from chappe.agents.models import QueueEvent
from chappe.callcenter.models import CallRecord
since = datetime.fromtimestamp(float(sys.argv[1]), UTC)
calls = set(QueueEvent.objects.filter(kind="entered", at__gte=since)
            .values_list("call_id", flat=True))
events = [(e.call_id, e.kind, e.at.timestamp())
          for e in QueueEvent.objects.filter(call_id__in=calls).order_by("at", "id")]
records = Counter(r.disposition for r in CallRecord.objects.filter(parent=None,
                                                                    sip_call_id__in=calls))
legs = Counter(r.disposition for r in CallRecord.objects.filter(parent__sip_call_id__in=calls))
print(json.dumps({"events": events, "records": records, "legs": legs}))
"""


def flow(seconds_text: str) -> dict:
    return {"start": "p", "nodes": {"p": {"type": "play", "prompt": {"text": seconds_text,
                                                                      "language": "en"}}}}


class Engine:
    """`chappe voice` on a database seeded by `setup` (SETUP: a number answered by
    `definition`), run with `setup_args` (default: the definition and the number)."""

    def __init__(self, data_dir: Path, definition: dict | None = None, *,
                 setup: str = SETUP, setup_args: list[str] | None = None) -> None:
        self.env = {**os.environ, "CHAPPE_DATA_DIR": str(data_dir),
                    "DJANGO_SETTINGS_MODULE": "config.settings", "CHAPPE_LOG_LEVEL": "INFO"}
        self.env.pop("CHAPPE_DATABASE_URL", None)
        args = setup_args if setup_args is not None else [json.dumps(definition), NUMBER]
        seeded = subprocess.run([PY, "-c", setup, *args], cwd=ROOT, env=self.env,
                                capture_output=True, text=True)
        if seeded.returncode:
            raise SystemExit(f"seeding the database failed:\n{seeded.stderr[-3000:]}")
        self.setup_output = seeded.stdout
        self.port_file = data_dir / "voice.port"
        self.log = data_dir / "voice.log"
        self._log_offset = self._problems_offset = 0
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

    def problems_since_last(self) -> Counter:
        """The warnings and errors logged since the previous call (_log_problems)."""
        text = self.log.read_text(errors="replace")[self._problems_offset:]
        self._problems_offset += len(text)
        return _log_problems(text)

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


def _stat_rows(stats: Path) -> list[dict]:
    """The rows of a SIPp -trace_stat file (one a -fd second, and a last one at exit)."""
    lines = stats.read_text().splitlines() if stats.exists() else []
    if len(lines) < 2:
        return []
    header = lines[0].split(";")
    return [dict(zip(header, line.split(";"), strict=False)) for line in lines[1:]]


def sipp(port: int, calls: int, rate: int, limit: int, workdir: Path, timeout: int, *,
         scenario: Path = SCENARIO, recv_timeout_ms: int = 10000,
         extra: tuple[str, ...] = ("-p", "0")) -> dict:
    """Run `scenario` (engine_hangs_up: the calls of (a) and (b)); returns SIPp's
    counters, the rate at which the calls were actually placed (SIPp itself may fall
    behind on a busy machine) and the mean time to the 200 OK. `extra`: its local ports."""
    stats = workdir / "stats.csv"
    stats.unlink(missing_ok=True)
    command = ["sipp", f"127.0.0.1:{port}", "-sf", str(scenario), "-s", NUMBER,
               "-i", "127.0.0.1", *extra, "-m", str(calls), "-r", str(rate),
               "-l", str(limit), "-timeout", str(timeout), "-nostdin", "-trace_stat",
               "-stf", str(stats), "-fd", "1", "-max_socket", "4096",
               "-recv_timeout", str(recv_timeout_ms)]
    started = time.monotonic()
    subprocess.run(command, cwd=workdir, capture_output=True, timeout=timeout + 30)
    elapsed = time.monotonic() - started
    rows = _stat_rows(stats)
    if not rows:
        return {"successful": 0, "failed": calls, "elapsed": elapsed, "placed_rate": 0.0,
                "answer_ms": 0.0}
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


# SIPp's ports in the queue scenario, explicit (with -p 0 its Via and Contact name 5060,
# where the engine's BYE would go): below the engine's RTP ports (20000-29998) and the
# kernel's ephemeral range, where no other process's client socket takes them meanwhile.
_SIPP_PORTS = (12000, 19996)


def _free_ports(size: int, taken: set[int]) -> int:
    """The first of `size` consecutive ports free for UDP and TCP on 127.0.0.1 (SIPp's
    media port -mp takes audio RTP/RTCP and video RTP/RTCP: four)."""
    for _ in range(500):
        first = random.randrange(_SIPP_PORTS[0], _SIPP_PORTS[1], 4)  # noqa: S311 - a port
        ports = set(range(first, first + size))
        if ports & taken:
            continue
        try:
            for port in ports:
                for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
                    with socket.socket(socket.AF_INET, kind) as sock:
                        sock.bind(("127.0.0.1", port))
        except OSError:
            continue
        taken |= ports
        return first
    raise SystemExit("no free ports for SIPp")


def _filled(name: str, workdir: Path, **values: str) -> Path:
    """A copy of bench/sipp/`name` with its `[key]`s filled (SIPp reads a pause's length
    before -key applies)."""
    text = (SIPP_DIR / name).read_text()
    for key, value in values.items():
        text = text.replace(f"[{key}]", value)
    path = workdir / name
    path.write_text(text)
    return path


def _peak(intervals: list[tuple[float, float]]) -> int:
    """The most intervals open at one instant."""
    edges = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals])
    peak = level = 0
    for _at, step in edges:
        level += step
        peak = max(peak, level)
    return peak


def _percentile(values: list[float], share: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def _queue_log(events: list) -> dict:
    """What the queue log says of the callers: how many connected, when, their waits,
    the most waiting at once and the most in the queue (waiting or talking) at once."""
    calls: dict[str, dict[str, float]] = {}
    kinds: dict[str, int] = {}
    for call_id, kind, at in events:
        kinds[kind] = kinds.get(kind, 0) + 1
        if call_id:
            calls.setdefault(call_id, {}).setdefault(kind, at)
    last = max((at for _c, _k, at in events), default=0.0)
    waiting, staying, waits = [], [], []
    for seen in calls.values():
        if "entered" not in seen:
            continue
        entered = seen["entered"]
        left = min((seen[k] for k in ("connected", "abandoned", "overflowed") if k in seen),
                   default=last)
        waiting.append((entered, left))
        staying.append((entered, seen.get("completed", seen.get("abandoned", last))))
        if "connected" in seen:
            waits.append(seen["connected"] - entered)
    connected = sorted(seen["connected"] for seen in calls.values() if "connected" in seen)
    span = connected[-1] - connected[0] if len(connected) > 1 else 0.0
    return {"kinds": kinds, "connected": len(connected),
            "connected_rate": (len(connected) - 1) / span if span else 0.0,
            "peak_waiting": _peak(waiting), "peak_in_queue": _peak(staying),
            "wait_p50": _percentile(waits, 0.5), "wait_p95": _percentile(waits, 0.95),
            "wait_max": max(waits, default=0.0)}


def bench_queue(agents: int, rates: list[int], calls: int, talk_s: float, max_wait_s: int,
                workdir: Path) -> None:
    print(f"(c) queue: {agents} agents (wrap-up 0) registered over SIP, answering at once and "
          f"hanging up after {talk_s:g} s, so at most {agents / talk_s:.1f} calls/s; "
          f"{calls} callers to a number whose flow is one queue step (longest idle); a "
          f"caller waiting more than {max_wait_s} s fails. A fresh engine and database for "
          "each rate (agents paused for letting calls ring out stay paused).")
    for rate in rates:
        data_dir = workdir / f"queue-{rate}"
        data_dir.mkdir()
        _queue_run(agents, rate, calls, talk_s, max_wait_s, data_dir)


def _queue_run(agents: int, rate: int, calls: int, talk_s: float, max_wait_s: int,
               data_dir: Path) -> None:
    credentials = data_dir / "agents.csv"
    started = time.monotonic()
    engine = Engine(data_dir, setup=QUEUE_SETUP,
                    setup_args=[NUMBER, str(agents), str(credentials)])
    taken: set[int] = set()
    phones_port = _free_ports(1, taken)
    phones = None
    try:
        registered = subprocess.run(
            ["sipp", f"127.0.0.1:{engine.port}", "-sf", str(SIPP_DIR / "register_agents.xml"),
             "-inf", str(credentials), "-i", "127.0.0.1", "-p", str(phones_port),
             "-mp", str(_free_ports(4, taken)), "-m", str(agents), "-r", "50",
             "-timeout", "60", "-timeout_error", "-nostdin", "-trace_err"],
            cwd=data_dir, capture_output=True, text=True, timeout=90)
        if registered.returncode != 0:
            raise SystemExit("the agents' phones did not all register:\n"
                             + registered.stdout[-2000:] + registered.stderr[-2000:])
        agent_stats = data_dir / "agents_stats.csv"
        phones = subprocess.Popen(
            ["sipp", "-sf", str(_filled("queue_agent.xml", data_dir,
                                        talk_ms=str(int(talk_s * 1000)))),
             "-i", "127.0.0.1", "-p", str(phones_port), "-mp", str(_free_ports(4, taken)),
             "-nostdin", "-trace_err", "-trace_stat", "-stf", str(agent_stats), "-fd", "1",
             "-max_socket", "4096"],
            cwd=data_dir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1)  # SIPp binds its port (nothing else takes it: see _SIPP_PORTS)
        if phones.poll() is not None:
            raise SystemExit("the agents' SIPp did not start")
        print(f"    --- {rate} callers/s: engine on :{engine.port} (seeded in "
              f"{time.monotonic() - started:.0f} s), {agents} phones registered from "
              f":{phones_port} and answered there by one SIPp UAS")
        engine.problems_since_last()
        since, cpu = time.time(), engine.cpu_seconds()
        result = sipp(engine.port, calls, rate, calls, data_dir,
                      timeout=int(calls / rate + talk_s + max_wait_s) + 30,
                      scenario=SIPP_DIR / "queue_caller.xml",
                      recv_timeout_ms=int((max_wait_s + talk_s + 5) * 1000),
                      extra=("-p", str(_free_ports(1, taken)),
                             "-mp", str(_free_ports(4, taken)), "-trace_err"))
        time.sleep(2)  # the last call records, the agents' last BYEs
        cpu = engine.cpu_seconds() - cpu
        _queue_print(rate, calls, result, cpu, _queue_report(engine, since),
                     _stat_rows(agent_stats), engine.problems_since_last())
    finally:
        if phones is not None:
            phones.terminate()
            phones.wait(10)
        engine.stop()


def _queue_report(engine: Engine, since: float) -> dict:
    """The queue log and the call records of the calls that entered after `since`."""
    report = json.loads(subprocess.run([PY, "-c", QUEUE_REPORT, str(since)], cwd=ROOT,
                                       env=engine.env, capture_output=True, text=True,
                                       check=True).stdout)
    return {**report, **_queue_log(report["events"])}


def _queue_print(rate: int, calls: int, result: dict, cpu: float, log: dict,
                 agent_rows: list[dict], problems: Counter) -> None:
    ended = result["successful"] + result["failed"]
    sipp_failed = result["failed"] + (calls - ended)
    completed = log["kinds"].get("completed", 0)
    failures = max(sipp_failed, calls - completed)
    last = agent_rows[-1] if agent_rows else {}
    agent_ok, agent_failed = (int(last.get(f"{k}Call(C)", 0)) for k in ("Successful", "Failed"))
    print(f"    {calls} callers asked at {rate}/s, placed at {result['placed_rate']:.1f}/s "
          f"by SIPp; wall {result['elapsed']:.0f} s; engine CPU {cpu:.1f} s "
          f"({cpu / max(result['elapsed'], 1e-9):.0%} of a core)")
    print(f"    callers' SIPp: {result['successful']} ok, {sipp_failed} failed; agents' SIPp "
          f"so far: {agent_ok} calls ok, {agent_failed} failed")
    print(f"    queue log: {log['kinds']}")
    print(f"    call records: {log['records']}; agents' legs: {log['legs']}")
    print(f"    connected to an agent: {log['connected_rate']:.1f} calls/s; most callers "
          f"waiting at once: {log['peak_waiting']}, in the queue (waiting or talking): "
          f"{log['peak_in_queue']}")
    print(f"    wait until an agent answered: p50 {log['wait_p50'] * 1000:.0f} ms, "
          f"p95 {log['wait_p95'] * 1000:.0f} ms, max {log['wait_max'] * 1000:.0f} ms")
    print(f"    failures (SIPp failed, or no agent completed the call): {failures} of {calls}"
          f" = {100 * failures / calls:.2f} % (goal < 0.1 %)")
    print(f"    engine log: {sum(problems.values())} warnings/errors"
          + "".join(f"\n      {count:6d}  {what}" for what, count in problems.most_common(8)))


def _log_problems(text: str) -> Counter:
    """The engine log's warnings and errors, counted by message (ids and numbers blanked),
    each with the last line of its traceback if any."""
    found: Counter = Counter()
    lines = text.splitlines()
    for at, line in enumerate(lines):
        if not re.match(r"\S+ \S+ (WARNING|ERROR|CRITICAL) ", line):
            continue
        message = re.sub(r"[0-9a-f]{8}-[0-9a-f-]{27}|\d+", "#", line.split(" ", 2)[2])
        follow = next((lines[i] for i in range(at + 1, min(at + 60, len(lines)))
                       if re.match(r"\S+ \S+ [A-Z]+ ", lines[i])), None)
        body = lines[at + 1:lines.index(follow, at + 1) if follow is not None else len(lines)]
        if body and body[0].startswith("Traceback"):
            message += f" [{body[-1].strip()[:120]}]"
        found[message[:240]] += 1
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rates", default="25,50,100,200")
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--concurrent", default="50,100,200,300")
    parser.add_argument("--hold", type=int, default=8)
    parser.add_argument("--only", choices=["rate", "media"])
    parser.add_argument("--queue", action="store_true", help="the queue scenario (c) alone")
    parser.add_argument("--agents", type=int, default=100)
    parser.add_argument("--queue-rates", default="20", help="callers a second, one run each")
    parser.add_argument("--queue-calls", type=int, default=1000)
    parser.add_argument("--talk", type=float, default=3.0, help="seconds an agent talks")
    parser.add_argument("--max-wait", type=int, default=60,
                        help="seconds a caller waits for an agent before it counts as failed")
    parser.add_argument("--keep", type=Path,
                        help="a new directory to work in and keep (the queue runs' engine "
                             "logs, databases, SIPp error logs), instead of a temporary one")
    args = parser.parse_args()
    if not shutil.which("sipp"):
        print("sipp not found: apt-get install sip-tester", file=sys.stderr)
        return 2
    if args.keep is not None:
        args.keep.mkdir(parents=True)
    with (contextlib.nullcontext(str(args.keep)) if args.keep is not None
          else tempfile.TemporaryDirectory(prefix="chappe-sip-bench-")) as tmp:
        workdir = Path(tmp)
        for sub in ("rate", "media"):
            (workdir / sub).mkdir()
        if args.queue:
            bench_queue(args.agents, [int(r) for r in args.queue_rates.split(",")],
                        args.queue_calls, args.talk, args.max_wait, workdir)
            return 0
        if args.only in (None, "rate"):
            bench_rate([int(r) for r in args.rates.split(",")], args.calls, workdir)
        if args.only in (None, "media"):
            bench_concurrent([int(n) for n in args.concurrent.split(",")], args.hold, workdir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
