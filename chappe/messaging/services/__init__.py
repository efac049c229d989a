"""Messaging writes. One way to send a message: `sms_send` (accept.py), whatever the edge."""
