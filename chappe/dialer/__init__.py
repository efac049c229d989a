"""Outbound call campaigns (SPEC C-5): the dialing rules and the pacing core."""
