"""SMPP state in the database: the carrier connector's durable inbox, part map and live
bind state (chappe.carriers.smpp), and the client-facing SMPP server's accounts and
queues (`chappe smpp-server`)."""
