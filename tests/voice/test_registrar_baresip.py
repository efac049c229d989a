"""A real softphone against the registrar: baresip registers with digest credentials,
is rung through its registration and answers (auto-answer), and unregisters when it
quits."""

import re
import shutil
import signal
import socket
import subprocess

import pytest

from chappe.voice.media.prompts import tone, wav_write
from chappe.voice.outbound import ring_all
from chappe.voice.registrations import Registrations
from tests.ports import free_port
from tests.voice.test_registrar_sipp import engine_with

pytestmark = [pytest.mark.slow, pytest.mark.tools("baresip")]


def baresip_config(home, *, registrar_port: int, password: str) -> int:
    """A baresip configuration in `home` (no sound card: a tone in a file as the
    microphone, a file as the speaker) for the account alice at the registrar; its SIP
    port."""
    wav_write(home / "tone.wav", tone(440, 2000))
    port = free_port()
    while not (_tcp_free(port) and _tcp_free(port + 1)):  # its TCP and TLS listen there
        port = free_port()
    (home / "config").write_text(
        f"sip_listen\t127.0.0.1:{port}\n"
        "audio_player\taufile,/dev/null\n"
        f"audio_source\taufile,{home / 'tone.wav'}\n"
        "module_path\t/usr/lib/baresip/modules\n"
        "module\tg711.so\nmodule\taufile.so\n"
        "module_app\taccount.so\nmodule_app\tmenu.so\n")
    (home / "accounts").write_text(
        f"<sip:alice@127.0.0.1:{registrar_port}>;auth_pass={password};regint=120;"
        "answermode=auto\n")
    return port


def _tcp_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def test_baresip_registers_answers_a_call_to_its_agent_and_unregisters(tmp_path):
    table = Registrations()
    with engine_with(table) as engine:
        port = baresip_config(tmp_path, registrar_port=engine.port, password="s3cret")
        phone = subprocess.Popen([shutil.which("baresip"), "-f", str(tmp_path)],
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                 stdin=subprocess.DEVNULL, text=True)
        try:
            [binding] = engine.wait_until(lambda: table.contacts_of("alice"))
            assert binding.user_agent.startswith("baresip")
            assert binding.source == ("127.0.0.1", port)
            # baresip's Contact: its own user part (alice-0x…), its address.
            assert re.fullmatch(rf"sip:alice[^@]*@127\.0\.0\.1:{port}(;.*)?", binding.uri)

            async def ring():
                call = await ring_all(engine.engine.endpoint, table.contacts_of("alice"),
                                      caller="33100000000", timeout=10)
                await call.hangup()
                return call.call_id

            assert engine.run(ring(), timeout=20)
            phone.send_signal(signal.SIGTERM)  # baresip unregisters as it quits
            assert engine.wait_until(lambda: not table.contacts_of("alice"))
            # Unregistered: what this test asks of its quitting. Its graceful stop may then
            # wait on other transactions (seen once in CI), so it is stopped here.
            phone.kill()
            output, _ = phone.communicate(timeout=10)
            # baresip saw its registration accepted with its one binding.
            assert "200 OK () [1 binding]" in output, output[-2000:]
        finally:
            if phone.poll() is None:
                phone.kill()
                phone.communicate()


def test_baresip_with_a_wrong_password_is_refused(tmp_path):
    table = Registrations()
    with engine_with(table) as engine:
        baresip_config(tmp_path, registrar_port=engine.port, password="guess")
        phone = subprocess.Popen([shutil.which("baresip"), "-f", str(tmp_path)],
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                 stdin=subprocess.DEVNULL, text=True)
        try:
            assert engine.wait_until(lambda: engine.engine.throttle.failures("127.0.0.1"))
            assert table.contacts_of("alice") == []
        finally:
            phone.kill()
            phone.communicate()
