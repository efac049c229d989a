"""SMPP 3.4 and SMS text, as a library: no Django, no database (docs/decisions/0014).

* `pdu` — codec helpers and framing over the `smpp.pdu3` codec;
* `transport` — an asyncio session: windowing, per-PDU response timers, enquire_link,
  generic_nack;
* `encoding` — GSM 03.38 / UCS-2 detection and segmentation of SMS text;
* `text` — data codings and long-message methods (UDH 8/16-bit, SAR, message_payload),
  MO reassembly;
* `receipts` — delivery-receipt parsing and id normalisation;
* `simulator` — the SMSC simulator (`chappe smsc-sim`), with `test_numbers`.

The platform's uses sit above it: `chappe.carriers.smpp` (the platform as an ESME towards
carriers) and `chappe.smpp_server` (clients binding to the platform).
"""
