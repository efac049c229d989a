"""PDU helpers over the `smpp.pdu3` codec: framing limits, status codes by number, and
builders with the defaults we use, so the rest of the code never touches pdu3's enums.

pdu3 decodes a whole PDU from bytes (header included) and encodes one back; it drops
vendor-specific TLVs on decode, so `decode` also keeps the raw TLVs of the PDU
(`pdu.raw_tlvs`: tag → bytes) — our dedup reference travels in one (see connector).
"""

import io
import struct
import threading
from typing import Any

from smpp.pdu import constants
from smpp.pdu import operations as op
from smpp.pdu import pdu_types as t
from smpp.pdu.error import PDUParseError
from smpp.pdu.pdu_encoding import (
    AddrNpiEncoder,
    AddrTonEncoder,
    DataCodingEncoder,
    EsmClassEncoder,
    PDUEncoder,
    RegisteredDeliveryEncoder,
)

HEADER = struct.Struct(">IIII")
HEADER_LEN = 16
# message_payload may carry up to 64 KiB; nothing legitimate is larger.
MAX_PDU = 70_000
# Our vendor-specific TLV (0x1400-0x3FFF is the SMSC vendor range): "<message id>:<part>".
REF_TLV = 0x1501

# Command status values we use (SMPP 3.4 §5.1.3).
ROK = 0x00
RINVMSGLEN = 0x01
RINVCMDLEN = 0x02
RINVCMDID = 0x03
RINVBNDSTS = 0x04
RALYBND = 0x05
RSYSERR = 0x08
RINVSRCADR = 0x0A
RINVDSTADR = 0x0B
RINVMSGID = 0x0C
RBINDFAIL = 0x0D
RINVPASWD = 0x0E
RINVSYSID = 0x0F
RCANCELFAIL = 0x11
RMSGQFUL = 0x14
RSUBMITFAIL = 0x45
RTHROTTLED = 0x58
RX_T_APPN = 0x64
RQUERYFAIL = 0x67
RUNKNOWNERR = 0xFF
TEMPORARY = frozenset({RTHROTTLED, RMSGQFUL})

BIND_REQUESTS = {
    t.CommandId.bind_transmitter: "tx",
    t.CommandId.bind_receiver: "rx",
    t.CommandId.bind_transceiver: "trx",
}
_REQUEST_IDS = {value for name, value in constants.command_id_name_map.items()
                if not name.endswith("_resp") and name != "generic_nack"}

_esm, _dc, _rd = EsmClassEncoder(), DataCodingEncoder(), RegisteredDeliveryEncoder()
_ton, _npi = AddrTonEncoder(), AddrNpiEncoder()


class _Codec(PDUEncoder):
    """pdu3's encoder, keeping the raw optional-parameter bytes of the last decode."""

    raw_options = b""

    def decodeOptionalParams(self, paramList, file, optionsLength):
        start = file.tell()
        self.raw_options = file.read(optionsLength)
        file.seek(start)
        return super().decodeOptionalParams(paramList, file, optionsLength)


_local = threading.local()


def _codec() -> _Codec:
    """pdu3's encoders keep state between calls, so each thread has its own."""
    codec = getattr(_local, "codec", None)
    if codec is None:
        codec = _local.codec = _Codec()
    return codec


def _raw_tlvs(data: bytes) -> dict[int, bytes]:
    tlvs: dict[int, bytes] = {}
    i = 0
    while i + 4 <= len(data):
        tag, length = struct.unpack_from(">HH", data, i)
        tlvs[tag] = data[i + 4:i + 4 + length]
        i += 4 + length
    return tlvs


def status_of(pdu: Any) -> int:
    return constants.command_status_name_map[pdu.status.name]


def status_enum(value: int) -> Any:
    name = constants.command_status_value_map.get(value, {}).get("name", "ESME_RUNKNOWNERR")
    return t.CommandStatus[name]


def status_name(value: int) -> str:
    return constants.command_status_value_map.get(value, {}).get("name", f"0x{value:08X}")


def command_id(pdu: Any) -> int:
    return constants.command_id_name_map[pdu.id.name]


def is_request(command: int) -> bool:
    return command in _REQUEST_IDS


def decode(data: bytes) -> Any:
    """One PDU from its bytes (length already checked by the framing). Raises
    `PDUParseError` with `.status` set to the SMPP error to answer."""
    codec = _codec()
    codec.raw_options = b""
    pdu = codec.decode(io.BytesIO(data))
    pdu.raw_tlvs = _raw_tlvs(codec.raw_options) if codec.raw_options else {}
    return pdu


def encode(pdu: Any) -> bytes:
    codec = _codec()
    # pdu3 sizes variable-length TLVs (message_payload) by the length of the last TLV it
    # decoded: forget it, or a long payload fails to encode after any decode.
    codec.optionEncoder.length = None
    return codec.encode(pdu)


def nack(seq: int, status: int) -> bytes:
    return HEADER.pack(HEADER_LEN, 0x80000000, status, seq)


def error_response(command: int, seq: int, status: int) -> bytes:
    """The response to a request we cannot serve: its own `_resp` with `status` (no body,
    as SMPP 3.4 allows on error), or generic_nack for an unknown command."""
    if is_request(command) and command not in (0x0000000B, 0x00000102):  # outbind, alert
        return HEADER.pack(HEADER_LEN, command | 0x80000000, status, seq)
    return nack(seq, status)


def esm_class(value: int) -> Any:
    return _esm.decode(io.BytesIO(bytes([value])))


def esm_value(esm: Any) -> int:
    return _esm.encode(esm)[0]


def data_coding(value: int) -> Any:
    return _dc.decode(io.BytesIO(bytes([value])))


def data_coding_value(dc: Any) -> int:
    return _dc.encode(dc)[0]


def registered_delivery(value: int) -> Any:
    return _rd.decode(io.BytesIO(bytes([value])))


def registered_delivery_value(rd: Any) -> int:
    return _rd.encode(rd)[0]


def ton(value: int) -> Any:
    return _ton.decode(io.BytesIO(bytes([value])))


def npi(value: int) -> Any:
    return _npi.decode(io.BytesIO(bytes([value])))


def ton_value(value: Any) -> int:
    return _ton.encode(value)[0]


def bind(mode: str, *, system_id: str, password: str, system_type: str = "",
         addr_ton: int = 0, addr_npi: int = 0, address_range: str = "") -> Any:
    klass = {"tx": op.BindTransmitter, "rx": op.BindReceiver, "trx": op.BindTransceiver}[mode]
    return klass(system_id=system_id, password=password, system_type=system_type,
                 interface_version=0x34, addr_ton=ton(addr_ton), addr_npi=npi(addr_npi),
                 address_range=address_range)


def bind_resp(request: Any, *, status: int = ROK, system_id: str = "chappe") -> Any:
    klass = request.requireAck
    if status != ROK:
        return klass(seqNum=request.seqNum, status=status_enum(status))
    return klass(seqNum=request.seqNum, system_id=system_id)


def _sm(klass: Any, *, source: str, source_ton: int, source_npi: int, destination: str,
        dest_ton: int, dest_npi: int, short_message: bytes, data_coding_value: int,
        esm: int = 0, registered: int = 0, **tlvs: Any) -> Any:
    custom = tlvs.pop("custom_tlvs", [])
    return klass(
        service_type="", source_addr_ton=ton(source_ton), source_addr_npi=npi(source_npi),
        source_addr=source, dest_addr_ton=ton(dest_ton), dest_addr_npi=npi(dest_npi),
        destination_addr=destination, esm_class=esm_class(esm), protocol_id=0,
        priority_flag=t.PriorityFlag.LEVEL_0, schedule_delivery_time=None,
        validity_period=None, registered_delivery=registered_delivery(registered),
        replace_if_present_flag=t.ReplaceIfPresentFlag.DO_NOT_REPLACE,
        data_coding=data_coding(data_coding_value), sm_default_msg_id=0,
        short_message=short_message, custom_tlvs=custom, **tlvs)


def submit_sm(**fields: Any) -> Any:
    return _sm(op.SubmitSM, **fields)


def deliver_sm(**fields: Any) -> Any:
    return _sm(op.DeliverSM, **fields)


def message_state(value: int) -> Any:
    return t.MessageState[constants.message_state_value_map[value]]


def message_state_value(state: Any) -> int:
    return constants.message_state_name_map[state.name]


def text_of(value: Any) -> str:
    if value is None:
        return ""
    return value.decode("latin-1") if isinstance(value, bytes) else str(value)


def short_message_of(pdu: Any) -> bytes:
    """The user data: `message_payload` if present, else `short_message`."""
    payload = pdu.params.get("message_payload")
    if payload:
        return payload
    return pdu.params.get("short_message") or b""


__all__ = ["PDUParseError", "op", "t"]
