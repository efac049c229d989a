"""The SMPP carrier connector: the platform as an ESME towards carriers' SMSCs, on the
`chappe.smpp` library, with its own tables (inbox, long-message parts, bind state)."""
