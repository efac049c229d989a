"""The client-facing SMPP server (`chappe smpp-server`): its sessions (`protocol`), the
database work they need (`services`, `selectors`) and the client accounts' SMPP
credentials and queues. The carrier side of SMPP is `chappe.carriers.smpp`."""
