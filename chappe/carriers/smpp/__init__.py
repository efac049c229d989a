"""SMPP 3.4: our asyncio transport on the `smpp.pdu3` codec (docs/decisions/0014-smpp.md).

* `pdu` — codec helpers and framing over smpp.pdu3;
* `transport` — a session: windowing, per-PDU response timers, enquire_link, generic_nack;
* `text` — encoding and long-message methods (UDH 8/16-bit, SAR, message_payload),
  MO reassembly; `receipts` — delivery-receipt parsing and id normalisation (pure);
* `simulator` — the SMSC simulator (`chappe smsc-sim`);
* `connector` — `SmppConnector`, the platform as an ESME towards carriers.
"""
