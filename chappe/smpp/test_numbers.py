"""The simulators' test numbers: each forces one outcome, the same in the built-in carrier
simulator (`chappe.carriers.simulator`) and the SMSC simulator speaking SMPP
(`chappe.smpp.simulator`). The README's table "Simulator test numbers" lists them.

number -> (outcome, error code)."""

TEST_NUMBERS = {
    "+33600000001": ("delivered", ""),
    "+33600000002": ("undelivered", "001"),
    "+33600000003": ("silent", ""),
    "+33600000004": ("rejected", "0x0000000B"),
    "+33600000005": ("slow", ""),
    "+33600000006": ("throttled_once", ""),
}
