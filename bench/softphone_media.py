"""CPU of the browser softphone's media in the voice engine (decision 0040).

    .venv/bin/python bench/softphone_media.py                 # 1, 4 and 8 browsers
    .venv/bin/python bench/softphone_media.py --browsers 1,10 --seconds 10

The engine's side runs here, as `chappe voice` runs it: `BrowserPhones` on its control
port, one aiortc peer connection per browser (ICE on loopback, DTLS-SRTP, Opus). The
browsers are aiortc peers in a child process (a 440 Hz tone as their microphone), which
speak the control protocol as the web role relays it (a signed hello, the offer, the
answer to an incoming call). Each answered call's leg echoes what the browser says back
to it (the decoding, resampling to 8 kHz and encoding a bridged call does). Printed: the
engine process's CPU per browser, connected and idle (the peer connection stays up
between calls: silence is sent) and in a call, in % of one core.
"""

import argparse
import asyncio
import fractions
import json
import math
import multiprocessing
import time

from chappe.voice.browser import BrowserPhones, hello_sign
from chappe.voice.registrations import Registrations

SECRET = b"bench-secret"


def browsers_main(port: int, count: int, stop) -> None:
    """The child process: `count` aiortc "browsers" connected to the control port."""
    import av
    from aiortc import RTCPeerConnection, RTCSessionDescription
    from aiortc.mediastreams import MediaStreamTrack

    class Tone(MediaStreamTrack):
        kind = "audio"

        def __init__(self) -> None:
            super().__init__()
            self.n, self.start = 0, None

        async def recv(self):
            if self.start is None:
                self.start = time.monotonic()
            await asyncio.sleep(max(0.0, self.start + self.n * 0.02 - time.monotonic()))
            samples = [int(8000 * math.sin(2 * math.pi * 440 * (self.n * 960 + i) / 48000))
                       for i in range(960)]
            frame = av.AudioFrame(format="s16", layout="mono", samples=960)
            frame.planes[0].update(b"".join(s.to_bytes(2, "little", signed=True)
                                            for s in samples))
            frame.sample_rate, frame.pts = 48000, self.n * 960
            frame.time_base = fractions.Fraction(1, 48000)
            self.n += 1
            return frame

    async def browser(index: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=1 << 20)
        issued = int(time.time())
        writer.write(json.dumps({
            "type": "hello", "agent_id": f"agent-{index}", "account_id": "bench",
            "session": f"s{index}", "issued": issued, "label": "",
            "sig": hello_sign(SECRET, agent_id=f"agent-{index}", account_id="bench",
                              session=f"s{index}|", issued=issued)}).encode() + b"\n")
        pc = RTCPeerConnection()
        pc.addTrack(Tone())
        drains = []

        @pc.on("track")
        def on_track(track) -> None:
            async def drain() -> None:
                while True:
                    await track.recv()
            drains.append(asyncio.ensure_future(drain()))

        while line := await reader.readline():
            message = json.loads(line)
            if message["type"] == "welcome":
                await pc.setLocalDescription(await pc.createOffer())
                writer.write(json.dumps({"type": "offer", "sdp": pc.localDescription.sdp})
                             .encode() + b"\n")
            elif message["type"] == "answer":
                await pc.setRemoteDescription(RTCSessionDescription(message["sdp"], "answer"))
            elif message["type"] == "incoming":
                writer.write(json.dumps({"type": "answer", "call": message["call"]})
                             .encode() + b"\n")
            await writer.drain()

    async def heartbeat_and_run() -> None:
        tasks = [asyncio.ensure_future(browser(i)) for i in range(count)]
        while not stop.is_set():
            await asyncio.sleep(0.2)
        for task in tasks:
            task.cancel()

    asyncio.run(heartbeat_and_run())


async def measure(count: int, seconds: float) -> tuple[float, float]:
    phones = BrowserPhones(Registrations(), secret=SECRET, heartbeat_timeout=3600)
    _host, port = await phones.start()
    stop = multiprocessing.Event()
    child = multiprocessing.Process(target=browsers_main, args=(port, count, stop))
    child.start()
    try:
        while sum(s.connected.is_set() for s in phones.sessions.values()) < count:
            await asyncio.sleep(0.1)
        await asyncio.sleep(2)  # settle
        cpu, wall = time.process_time(), time.monotonic()
        await asyncio.sleep(seconds)
        idle = (time.process_time() - cpu) / (time.monotonic() - wall)
        calls = [await phones.originate(uri=f"webrtc:{s.id}", caller="33600000001",
                                        timeout=10) for s in list(phones.sessions.values())]
        for call in calls:
            call.leg.set_audio_sink(call.leg.send_audio)  # echo: decode, resample, encode
        await asyncio.sleep(2)
        cpu, wall = time.process_time(), time.monotonic()
        await asyncio.sleep(seconds)
        talking = (time.process_time() - cpu) / (time.monotonic() - wall)
        frames = sum(call.leg.frames_in for call in calls)
        assert frames > count * seconds * 40, f"only {frames} frames relayed"
        for call in calls:
            await call.hangup()
    finally:
        stop.set()
        child.join(10)
        await phones.stop()
    return idle / count * 100, talking / count * 100


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--browsers", default="1,4,8")
    parser.add_argument("--seconds", type=float, default=8.0)
    args = parser.parse_args()
    for count in [int(n) for n in args.browsers.split(",")]:
        idle, talking = asyncio.run(measure(count, args.seconds))
        print(f"{count:3d} browser(s): {idle:5.1f} % of a core each connected and idle, "
              f"{talking:5.1f} % each in a call", flush=True)


if __name__ == "__main__":
    main()
