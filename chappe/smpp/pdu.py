"""PDU helpers over the `smpp.pdu3` codec: framing limits, status codes by number, and
builders with the defaults we use, so the rest of the code never touches pdu3's enums.

pdu3 decodes a whole PDU from bytes (header included) and encodes one back; it drops
vendor-specific TLVs on decode, so `decode` also keeps the raw TLVs of the PDU
(`pdu.raw_tlvs`: tag → bytes) — our dedup reference travels in one (see connector).

pdu3 lists but cannot code three fields, so our codec does: submit_multi's destination
list (`dest_address`: `DestAddress` items, `number_of_dests` implied), submit_multi_resp's
`no_unsuccess_sme` (`UnsuccessSme` items) and replace_sm's `sm_length` (read with
`short_message`, as in every other PDU). A sequence_number of 0 (out of the 3.4 range,
yet sent by some clients) decodes as 0 and is answered with 0.
"""

import io
import struct
import threading
from dataclasses import dataclass
from typing import Any

from smpp.pdu import constants
from smpp.pdu import operations as op
from smpp.pdu import pdu_types as t
from smpp.pdu.error import PDUParseError
from smpp.pdu.pdu_encoding import (
    AddrNpiEncoder,
    AddrTonEncoder,
    COctetStringEncoder,
    DataCodingEncoder,
    EsmClassEncoder,
    Int1Encoder,
    Int4Encoder,
    PDUEncoder,
    PriorityFlagEncoder,
    RegisteredDeliveryEncoder,
    ReplaceIfPresentFlagEncoder,
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
RREPLACEFAIL = 0x13
RMSGQFUL = 0x14
RINVNUMDESTS = 0x33
RINVDLNAME = 0x34
RINVESMCLASS = 0x43
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
_priority, _replace = PriorityFlagEncoder(), ReplaceIfPresentFlagEncoder()
SUBMIT_SM = 0x00000004

# pdu3's one-octet fields as its objects, decoded once per (field, octet) and shared
# (never mutated), and the octet of each shared object: decoding and re-encoding them is
# a good part of a submit_sm's cost otherwise.
_octet_objects: dict[tuple[int, int], Any] = {}
_object_octets: dict[int, int] = {}


def _octet_object(encoder: Any, value: int) -> Any:
    key = (id(encoder), value)
    obj = _octet_objects.get(key)
    if obj is None:
        obj = encoder.decode(io.BytesIO(bytes([value])))
        _octet_objects[key] = obj
        _object_octets[id(obj)] = value
    return obj


def _octet_of(encoder: Any, obj: Any) -> int:
    value = _object_octets.get(id(obj))
    if value is None or _octet_objects.get((id(encoder), value)) is not obj:
        return encoder.encode(obj)[0]
    return value


@dataclass(frozen=True)
class DestAddress:
    """One destination of a submit_multi: an SME address (flag 1) or a distribution list
    name (flag 2, `ton`/`npi` unused)."""

    address: str
    ton: int = 1
    npi: int = 1
    is_list: bool = False


@dataclass(frozen=True)
class UnsuccessSme:
    """A destination of a submit_multi that was refused, and why (submit_multi_resp)."""

    address: str
    ton: int
    npi: int
    status: int


_int1, _int4, _addr21 = Int1Encoder(), Int4Encoder(), COctetStringEncoder(21)


class _Codec(PDUEncoder):
    """pdu3's encoder, keeping the raw optional-parameter bytes of the last decode, and
    coding the fields pdu3 lists without an encoder (see the module's docstring)."""

    raw_options = b""

    def decodeRequiredParams(self, paramList, encoderMap, file):
        params: dict[str, Any] = {}
        for name in paramList:
            if name == "sm_length":  # read by short_message's encoder
                continue
            if name in ("number_of_dests", "no_unsuccess"):
                params[name] = _int1.decode(file)
            elif name == "dest_address":
                params[name] = [self._dest_decode(file)
                                for _ in range(params["number_of_dests"])]
            elif name == "no_unsuccess_sme":
                params[name] = [UnsuccessSme(ton=_int1.decode(file), npi=_int1.decode(file),
                                             address=_addr21.decode(file).decode("latin-1"),
                                             status=_int4.decode(file))
                                for _ in range(params["no_unsuccess"])]
            else:
                params[name] = encoderMap[name].decode(file)
        return params

    @staticmethod
    def _dest_decode(file: Any) -> DestAddress:
        flag = _int1.decode(file)
        if flag == 2:
            return DestAddress(address=_addr21.decode(file).decode("latin-1"), is_list=True)
        if flag != 1:
            raise PDUParseError(f"dest_flag {flag}", t.CommandStatus.ESME_RINVDSTADR)
        ton_, npi_ = _int1.decode(file), _int1.decode(file)
        return DestAddress(ton=ton_, npi=npi_, address=_addr21.decode(file).decode("latin-1"))

    def encodeRequiredParams(self, paramList, encoderMap, params):
        out = b""
        for name in paramList:
            value = params.get(name)
            if name == "sm_length":
                continue
            if name == "number_of_dests":
                out += _int1.encode(len(params["dest_address"]))
            elif name == "dest_address":
                out += b"".join(
                    bytes([2]) + _addr21.encode(d.address) if d.is_list
                    else bytes([1, d.ton, d.npi]) + _addr21.encode(d.address) for d in value)
            elif name == "no_unsuccess":
                out += _int1.encode(len(params.get("no_unsuccess_sme") or []))
            elif name == "no_unsuccess_sme":
                out += b"".join(bytes([u.ton, u.npi]) + _addr21.encode(u.address)
                                + _int4.encode(u.status) for u in value or [])
            else:
                out += encoderMap[name].encode(value, name=name)
        return out

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
    return command_value(pdu.id)


def command_value(command: Any) -> int:
    """The number of a pdu3 `CommandId`."""
    return constants.command_id_name_map[command.name]


def is_request(command: int) -> bool:
    return command in _REQUEST_IDS


def _cstring(data: bytes, start: int, size: int) -> tuple[bytes, int]:
    """A C-Octet String of at most `size` octets (NUL included) at `start`: its value
    and where the next field starts; ValueError when unterminated or too long."""
    end = data.index(b"\0", start, start + size)
    return data[start:end], end + 1


def _submit_sm_fast(data: bytes) -> Any | None:
    """The common submit_sm — no schedule, no validity period, no optional parameter —
    decoded without pdu3's field-by-field machinery (the same PDU object and values);
    None for anything else, which pdu3 decodes."""
    try:
        length, _command, _status, seq = HEADER.unpack_from(data)
        service_type, i = _cstring(data, 16, 6)
        source_ton, source_npi = data[i], data[i + 1]
        source, i = _cstring(data, i + 2, 21)
        dest_ton, dest_npi = data[i], data[i + 1]
        destination, i = _cstring(data, i + 2, 21)
        esm, protocol_id, priority = data[i], data[i + 1], data[i + 2]
        if data[i + 3] or data[i + 4]:  # schedule_delivery_time, validity_period
            return None
        registered, replace, coding, default_id, sm_length = data[i + 5:i + 10]
        i += 10
        if i + sm_length != length or length != len(data) or priority > 3 or replace > 1:
            return None
        pdu = op.SubmitSM(
            seq or 0, service_type=service_type,
            source_addr_ton=_octet_object(_ton, source_ton),
            source_addr_npi=_octet_object(_npi, source_npi), source_addr=source,
            dest_addr_ton=_octet_object(_ton, dest_ton),
            dest_addr_npi=_octet_object(_npi, dest_npi), destination_addr=destination,
            esm_class=_octet_object(_esm, esm), protocol_id=protocol_id,
            priority_flag=_octet_object(_priority, priority), schedule_delivery_time=None,
            validity_period=None, registered_delivery=_octet_object(_rd, registered),
            replace_if_present_flag=_octet_object(_replace, replace),
            data_coding=_octet_object(_dc, coding), sm_default_msg_id=default_id,
            short_message=data[i:i + sm_length])
    except (ValueError, IndexError, PDUParseError):
        return None
    pdu.raw_tlvs = {}
    return pdu


def decode(data: bytes) -> Any:
    """One PDU from its bytes (length already checked by the framing). Raises
    `PDUParseError` with `.status` set to the SMPP error to answer."""
    if data[4:8] == b"\0\0\0\x04" and (fast := _submit_sm_fast(data)) is not None:
        return fast
    codec = _codec()
    codec.raw_options = b""
    pdu = codec.decode(io.BytesIO(data))
    pdu.raw_tlvs = _raw_tlvs(codec.raw_options) if codec.raw_options else {}
    if pdu.seqNum is None:  # pdu3 reads sequence_number 0 as "null"
        pdu.seqNum = 0
    return pdu


def decode_error_status(exc: Exception) -> int:
    """The status answering a PDU that frames but does not decode: the decoder's own
    (a field out of range or cut short), ESME_RINVCMDID for a command the codec cannot
    read (a field it has no encoder for: not supported), else ESME_RINVCMDLEN (the body
    does not hold its command's fields)."""
    if isinstance(exc, PDUParseError) and getattr(exc, "status", None) is not None:
        return status_of(exc)
    if isinstance(exc, KeyError):
        return RINVCMDID
    return RINVCMDLEN


def encode(pdu: Any) -> bytes:
    codec = _codec()
    # pdu3 sizes variable-length TLVs (message_payload) by the length of the last TLV it
    # decoded: forget it, or a long payload fails to encode after any decode.
    codec.optionEncoder.length = None
    seq = pdu.seqNum
    if seq == 0:  # pdu3 writes "null" as 0, and refuses 0 itself
        pdu.seqNum = None
    try:
        return codec.encode(pdu)
    finally:
        pdu.seqNum = seq


def nack(seq: int, status: int) -> bytes:
    return HEADER.pack(HEADER_LEN, 0x80000000, status, seq)


def submit_sm_resp(seq: int, message_id: str) -> bytes:
    """submit_sm_resp with ESME_ROK, packed directly (the hot path of accepting)."""
    body = message_id.encode("ascii") + b"\0"
    return HEADER.pack(HEADER_LEN + len(body), SUBMIT_SM | 0x80000000, ROK, seq) + body


def error_response(command: int, seq: int, status: int) -> bytes:
    """The response to a request we cannot serve: its own `_resp` with `status` (no body,
    as SMPP 3.4 allows on error), or generic_nack for an unknown command."""
    if is_request(command) and command not in (0x0000000B, 0x00000102):  # outbind, alert
        return HEADER.pack(HEADER_LEN, command | 0x80000000, status, seq)
    return nack(seq, status)


def esm_class(value: int) -> Any:
    return _octet_object(_esm, value)


def esm_value(esm: Any) -> int:
    return _octet_of(_esm, esm)


def data_coding(value: int) -> Any:
    return _octet_object(_dc, value)


def data_coding_value(dc: Any) -> int:
    return _octet_of(_dc, dc)


def registered_delivery(value: int) -> Any:
    return _octet_object(_rd, value)


def registered_delivery_value(rd: Any) -> int:
    return _octet_of(_rd, rd)


def ton(value: int) -> Any:
    return _octet_object(_ton, value)


def npi(value: int) -> Any:
    return _octet_object(_npi, value)


def ton_value(value: Any) -> int:
    return _octet_of(_ton, value)


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
