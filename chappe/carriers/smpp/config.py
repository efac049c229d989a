"""The settings of an SMPP connector (`Connector.config` of type "smpp").

Limits are those of SMPP 3.4 and of the codec: system_id up to 15 characters, password
up to 8, system_type up to 12 (C-octet strings of 16, 9 and 13 bytes), TON 0 to 6 and the
NPI values the specification defines. A config that could not bind is refused on save
instead of failing in the gateway.
"""

from typing import Literal, Self

from django.utils.translation import gettext as _
from pydantic import BaseModel, ConfigDict, Field, model_validator

IdFormat = Literal["string", "hex", "decimal"]
Npi = Literal[0, 1, 3, 4, 6, 8, 9, 10, 14, 18]


class SmppConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str = Field(min_length=1)
    port: int = Field(ge=1, le=65535)
    system_id: str = Field(min_length=1, max_length=15)
    password: str = Field("", max_length=8)
    system_type: str = Field("", max_length=12)
    # "trx", or "tx+rx" (a transmitter and a receiver per bind).
    bind_mode: Literal["trx", "tx+rx"] = "trx"
    binds: int = Field(1, ge=1, le=64)
    # submit_sm awaiting a response, per bind.
    window: int = Field(10, ge=1, le=1000)
    # Messages per second over the whole connector; 0: no cap.
    max_mps: float = Field(0, ge=0)
    # None: 5 (alphanumeric) or 1 (international), by sender.
    source_ton: int | None = Field(None, ge=0, le=6)
    source_npi: Npi | None = None
    dest_ton: int = Field(1, ge=0, le=6)
    dest_npi: Npi = 1
    # For GSM-7 texts: 0 (SMSC default) or 3 (Latin-1); UCS-2 texts always go as 8.
    data_coding: Literal[0, 3] = 0
    long_method: Literal["udh8", "udh16", "sar", "payload"] = "udh8"
    # How the SMSC writes message ids in submit_sm_resp, and in receipt texts (default:
    # the same).
    message_id_format: IdFormat = "string"
    receipt_id_format: IdFormat | None = None
    registered_delivery: int = Field(1, ge=0, le=0x1F)
    # Send our reference `<message id>:<part>` in vendor TLV 0x1501 (SMSC-side dedup).
    ref_tlv: bool = True
    # Seconds.
    response_timeout: float = Field(10.0, gt=0)
    enquire_link: float = Field(30.0, gt=0)
    reconnect_min: float = Field(0.5, gt=0)
    reconnect_max: float = Field(30.0, gt=0)
    bind_wait: float = Field(5.0, ge=0)

    @model_validator(mode="after")
    def _reconnect_range(self) -> Self:
        if self.reconnect_max < self.reconnect_min:
            raise ValueError(_("reconnect_max must not be below reconnect_min."))
        return self
