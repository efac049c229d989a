"""What the platform tells its clients and publishes (P-12, P-14, P-15, P-16): change
notices a month ahead, maintenance banners, versioned terms of service and their
acceptance, sub-processors with an objection window, recipients' requests forwarded to
the client, and data-breach notifications."""
