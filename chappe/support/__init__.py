"""Support (P-11, C-12): tickets from the web app or by e-mail, answered from the
back-office, with monthly quotas, opening hours and acknowledgement deadlines."""
